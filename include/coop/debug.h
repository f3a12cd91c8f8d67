/* coop/debug.h — placeholder until this part of the API lands. */
#ifndef COOP_DEBUG_H
#define COOP_DEBUG_H
#include "sched.h"
#endif
