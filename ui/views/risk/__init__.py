"""The Risk view: hedges and what they do to the NPV distribution (:mod:`.view`), its hedge table
(:mod:`.hedge_table`) and what a run leaves (:mod:`.results`)."""
