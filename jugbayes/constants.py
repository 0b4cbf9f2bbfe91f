"""Physical and astronomical constants, each with its source.  Every module takes them from here."""

from __future__ import annotations

import math

# Speed of light in vacuum, exact by definition of the metre (SI, 1983).
C_M_S = 299_792_458.0
C_KM_S = C_M_S / 1000.0

# TT - TAI, exact by definition (IAU 1991 Resolution A4; IAU 2000 B1.9).
TT_MINUS_TAI_S = 32.184

# Astronomical unit in metres, exact (IAU 2012 Resolution B2).
AU_M = 149_597_870_700.0
AU_LS = AU_M / C_M_S

# Parsec in metres: 648000/pi au (IAU 2015 Resolution B2).
PC_M = AU_M * 648_000.0 / math.pi

# Nominal solar mass parameter GM_sun (IAU 2015 Resolution B3, TCB-compatible value, m^3 s^-2),
# and the solar mass in seconds, GM_sun / c^3: the unit of every Shapiro-delay amplitude.
GM_SUN_M3_S2 = 1.3271244e20
T_SUN_S = GM_SUN_M3_S2 / C_M_S**3

# Mass ratios Sun/planet (IAU 2009 system of astronomical constants, Luzum et al. 2011, Table 1),
# used as GM_planet = GM_sun / ratio for planetary Shapiro delays.
SUN_PLANET_MASS_RATIO = {
    "mercury": 6.0236e6,
    "venus": 4.08523719e5,
    "mars": 3.09870359e6,
    "jupiter": 1.047348644e3,
    "saturn": 3.4979018e3,
    "uranus": 2.290298e4,
    "neptune": 1.941226e4,
}

# Obliquity of the ecliptic at J2000 used for pulsar ecliptic coordinates (arcsec):
# IERS Conventions 2003 (Technical Note 32) and 2010 (Technical Note 36); TEMPO2/PINT name them
# ECL IERS2003 / IERS2010.
OBLIQUITY_ARCSEC = {"IERS2003": 84381.4059, "IERS2010": 84381.406}

# Julian year in days (IAU): proper motions are per Julian year.
JULIAN_YEAR_D = 365.25
SECONDS_PER_DAY = 86400.0

MAS_TO_RAD = math.pi / (180.0 * 3600.0 * 1000.0)
ARCSEC_TO_RAD = math.pi / (180.0 * 3600.0)

# Dispersion constant in s MHz^2 cm^3 / pc, the conventional value 1/2.41e-4 used by TEMPO, TEMPO2 and PINT
# (Manchester & Taylor 1972); the physical e^2/(2 pi m_e c) differs by ~1e-4, absorbed into DM.
DM_CONST_S_MHZ2 = 1.0 / 2.41e-4
