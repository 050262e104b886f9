// core/ledger_sqlite.cpp: (to be written)
