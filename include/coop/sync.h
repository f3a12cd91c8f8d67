/* coop/sync.h — placeholder until this part of the API lands. */
#ifndef COOP_SYNC_H
#define COOP_SYNC_H
#include "sched.h"
#endif
