"""The timing model: parameter catalogue and (later) one JAX component per physical effect."""
