/*
 * linedoor.h - the line door of the test server (linedoor.c): a second
 * protocol for mq-serve's core, for tests only.
 */
#ifndef MQ_TESTS_LINEDOOR_H
#define MQ_TESTS_LINEDOOR_H

#include "server.h"

extern const struct proto line_proto;

#endif /* MQ_TESTS_LINEDOOR_H */
