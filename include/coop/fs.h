/* coop/fs.h — placeholder until this part of the API lands. */
#ifndef COOP_FS_H
#define COOP_FS_H
#include "sched.h"
#endif
