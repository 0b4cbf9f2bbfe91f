"""Time transfer: observatory clocks -> UTC -> TAI -> TT, and TT -> TDB."""
