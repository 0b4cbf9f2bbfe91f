"""The noise model: the .par's noise lines (:mod:`.parfile`), the bases fixed by the TOAs (:mod:`.bases`), the one
Gaussian kernel every consumer calls (:mod:`.kernel`), and the kernel at fixed or sampled values
(:mod:`.likelihood`).  The names below are the package's public face."""

from jugbayes.model.noise.bases import (ECORR_EPOCH_S, F_YR_HZ, FourierGram, ecorr_epochs, fourier_basis, fourier_gram,
                                        powerlaw_weights_s2, scaled_sigma_s)
from jugbayes.model.noise.likelihood import (columns_gram, fixed_kernel, grouped_forms, grouped_gram, noise_chi2_logdet, noise_factor,
                                             noise_kernel, noise_loglike, noise_realisations_s, split_gram, toa_sigma_and_basis,
                                             with_wideband_rows)
from jugbayes.model.noise.parfile import (DEFAULT_N_FREQ, DM_NOISE_REF_MHZ, PRIOR_RANGES, UNSUPPORTED, DMNoiseWarning,
                                          NoiseModel, NoiseParam, PowerLaw, barycentric_freq_mhz, build_noise,
                                          noise_for_model, noise_label, noise_parameters, rnamp_to_log10_amp,
                                          wideband_sigma_pc_cm3)

__all__ = ["DEFAULT_N_FREQ", "DM_NOISE_REF_MHZ", "ECORR_EPOCH_S", "F_YR_HZ", "PRIOR_RANGES", "UNSUPPORTED",
           "DMNoiseWarning", "FourierGram", "NoiseModel", "NoiseParam", "PowerLaw", "barycentric_freq_mhz",
           "build_noise", "columns_gram", "ecorr_epochs", "fixed_kernel", "fourier_basis", "fourier_gram", "grouped_forms",
           "grouped_gram", "noise_chi2_logdet", "noise_factor", "noise_for_model", "noise_kernel", "noise_label",
           "noise_loglike", "noise_parameters", "noise_realisations_s", "powerlaw_weights_s2", "rnamp_to_log10_amp",
           "scaled_sigma_s", "split_gram", "toa_sigma_and_basis", "wideband_sigma_pc_cm3", "with_wideband_rows"]
