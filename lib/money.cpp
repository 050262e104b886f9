// core/money.cpp: (to be written)
