/*
 * err.c - what each outcome of libmq means, in words.
 *
 * Model: libmq functions return enum mq_err.  A system error is returned
 * as MQ_ESYS through mq_sys(), which also keeps errno in a thread-local
 * slot, so that mq_strerror(MQ_ESYS) still describes it after later calls
 * (free, close, ...) have changed errno.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

static _Thread_local int mq_saved_errno;

/* Saves errno for mq_strerror(MQ_ESYS) and returns MQ_ESYS; errno is kept. */
int
mq_sys(void)
{
	mq_saved_errno = errno;
	return MQ_ESYS;
}

/*
 * 1 if 'rc' is MQ_ESYS for want of the right to write: no permission
 * (EACCES) or a read-only filesystem (EROFS).  By the saved errno, which
 * the cleanup after a failure (close, free) cannot have changed.
 */
int
mq_refused(int rc)
{
	return rc == MQ_ESYS &&
	    (mq_saved_errno == EACCES || mq_saved_errno == EROFS);
}

/* A static, lower-case description of 'err'. */
const char *
mq_strerror(int err)
{
	switch (err) {
	case MQ_OK:
		return "success";
	case MQ_ENOSTREAM:
		return "no such stream";
	case MQ_ENOGROUP:
		return "no such consumer group";
	case MQ_EEXIST:
		return "already exists";
	case MQ_EIDSMALL:
		return "the id is equal or smaller than the stream's top item";
	case MQ_EIDZERO:
		return "the id must be greater than 0-0";
	case MQ_EBADID:
		return "invalid stream id";
	case MQ_ETOOBIG:
		return "message too large";
	case MQ_ECORRUPT:
		return "corrupt spool file";
	case MQ_ENOSPC:
		return "not enough free disk space";
	case MQ_EBADNAME:
		return "invalid name (empty or too long)";
	case MQ_EINVAL:
		return "invalid argument";
	case MQ_EVERSION:
		return "unsupported format version";
	case MQ_ENOMSG:
		return "no such entry";
	case MQ_EWRONGTYPE:
		return "the key holds another type (a stream or a sorted set)";
	case MQ_ENOEXCHANGE:
		return "no such exchange";
	case MQ_ERESERVED:
		return "the name is reserved for the built-in exchanges";
	case MQ_EINUSE:
		return "the exchange is in use (it has bindings)";
	case MQ_ELOCKED:
		return "the queue is another holder's (exclusive)";
	case MQ_EFULL:
		return "the queue is full (max-len or max-len-bytes, overflow reject)";
	case MQ_ESYS:
		return strerror(mq_saved_errno);
	}
	return "unknown error";
}
