/* hparams.h: reading a model's hyperparameters from its GGUF keys. */
#ifndef ERG_MODEL_HPARAMS_H
#define ERG_MODEL_HPARAMS_H

#include "model/model.h"

/* Reads and range-checks every hyperparameter (n_vocab comes from the
 * embedding tensor, later). ERG_UNSUPPORTED for an unknown architecture. */
erg_status erg_hparams_read(erg_gguf *g, erg_hparams *hp, erg_diag *diag);

#endif
