/* coop/proc.h — placeholder until this part of the API lands. */
#ifndef COOP_PROC_H
#define COOP_PROC_H
#include "sched.h"
#endif
