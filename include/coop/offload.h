/* coop/offload.h — placeholder until this part of the API lands. */
#ifndef COOP_OFFLOAD_H
#define COOP_OFFLOAD_H
#include "sched.h"
#endif
