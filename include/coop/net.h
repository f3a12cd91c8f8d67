/* coop/net.h — placeholder until this part of the API lands. */
#ifndef COOP_NET_H
#define COOP_NET_H
#include "sched.h"
#endif
