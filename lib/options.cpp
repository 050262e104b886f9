// core/options.cpp: (to be written)
