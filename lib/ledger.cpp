// core/ledger.cpp: (to be written)
