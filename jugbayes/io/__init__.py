"""Reading and writing the field's standard files: TEMPO2/PINT ``.par`` and ``.tim``."""

from jugbayes.io.par import ParFile, Parameter, read_par, write_par
from jugbayes.io.tim import TOAs, read_tim, write_tim

__all__ = ["ParFile", "Parameter", "read_par", "write_par", "TOAs", "read_tim", "write_tim"]
