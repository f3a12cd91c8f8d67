/* coop/gen.h — placeholder until this part of the API lands. */
#ifndef COOP_GEN_H
#define COOP_GEN_H
#include "sched.h"
#endif
