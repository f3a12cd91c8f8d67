/* coop/chan.h — placeholder until this part of the API lands. */
#ifndef COOP_CHAN_H
#define COOP_CHAN_H
#include "sched.h"
#endif
