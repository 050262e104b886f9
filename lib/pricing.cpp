// core/pricing.cpp: (to be written)
