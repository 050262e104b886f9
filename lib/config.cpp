// core/config.cpp: (to be written)
