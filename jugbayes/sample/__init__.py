"""Stage two: the NUTS posterior (:mod:`.nuts`) and its priors and transforms (:mod:`.priors`)."""
