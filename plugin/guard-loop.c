/* The engine's event-loop hooks (account-guard.h, struct ag_event_loop) on
   Dovecot's ioloop: one io per socket and direction, one timeout. */

#include "lib.h"
#include "array.h"
#include "ioloop.h"
#include "guard-loop.h"

#include "account-guard.h"

#define GUARD_LOOP_ERROR_MAX 512

struct guard_loop_fd {
	struct guard_loop *loop;
	int fd;
	struct io *io_read, *io_write;
};

struct guard_loop {
	struct ag_engine *engine;
	/* A handful: one socket per memcached server. */
	ARRAY(struct guard_loop_fd *) fds;
	struct timeout *to;
};

static void guard_loop_ready(struct guard_loop_fd *entry, int events)
{
	/* The engine may stop watching this fd from inside the call, which
	   frees entry: take what is needed first. */
	struct ag_engine *engine = entry->loop->engine;
	int fd = entry->fd;

	ag_engine_io(engine, fd, events);
}

static void guard_loop_readable(struct guard_loop_fd *entry)
{
	guard_loop_ready(entry, AG_IO_READ);
}

static void guard_loop_writable(struct guard_loop_fd *entry)
{
	guard_loop_ready(entry, AG_IO_WRITE);
}

static struct guard_loop_fd **
guard_loop_find(struct guard_loop *loop, int fd)
{
	struct guard_loop_fd **entryp;

	array_foreach_modifiable(&loop->fds, entryp) {
		if ((*entryp)->fd == fd)
			return entryp;
	}
	return NULL;
}

static void guard_loop_watch(int fd, int events, void *context)
{
	struct guard_loop *loop = context;
	struct guard_loop_fd **entryp = guard_loop_find(loop, fd);
	struct guard_loop_fd *entry = entryp == NULL ? NULL : *entryp;

	if (entry == NULL) {
		if (events == 0)
			return;
		entry = i_new(struct guard_loop_fd, 1);
		entry->loop = loop;
		entry->fd = fd;
		array_push_back(&loop->fds, &entry);
	}
	if ((events & AG_IO_READ) != 0 && entry->io_read == NULL) {
		entry->io_read = io_add(fd, IO_READ,
					guard_loop_readable, entry);
	} else if ((events & AG_IO_READ) == 0)
		io_remove(&entry->io_read);
	if ((events & AG_IO_WRITE) != 0 && entry->io_write == NULL) {
		entry->io_write = io_add(fd, IO_WRITE,
					 guard_loop_writable, entry);
	} else if ((events & AG_IO_WRITE) == 0)
		io_remove(&entry->io_write);
	if (events == 0) {
		entryp = guard_loop_find(loop, fd);
		array_delete(&loop->fds,
			     array_ptr_to_idx(&loop->fds, entryp), 1);
		i_free(entry);
	}
}

static void guard_loop_timeout(struct guard_loop *loop)
{
	/* Dovecot's timeouts repeat; the engine's timer fires once and is
	   re-armed by the engine if it still needs it. */
	timeout_remove(&loop->to);
	ag_engine_timer(loop->engine);
}

static void guard_loop_timer(int msecs, void *context)
{
	struct guard_loop *loop = context;

	timeout_remove(&loop->to);
	if (msecs >= 0) {
		loop->to = timeout_add_short((unsigned int)msecs,
					     guard_loop_timeout, loop);
	}
}

struct guard_loop *guard_loop_attach(struct ag_engine *engine,
				     const char **error_r)
{
	struct guard_loop *loop;
	struct ag_event_loop hooks;
	char error[GUARD_LOOP_ERROR_MAX];

	loop = i_new(struct guard_loop, 1);
	loop->engine = engine;
	i_array_init(&loop->fds, 4);
	i_zero(&hooks);
	hooks.watch = guard_loop_watch;
	hooks.timer = guard_loop_timer;
	hooks.context = loop;
	if (ag_engine_attach_loop(engine, &hooks, error, sizeof(error)) != AG_OK) {
		*error_r = t_strdup(error);
		array_free(&loop->fds);
		i_free(loop);
		return NULL;
	}
	return loop;
}

void guard_loop_detach(struct guard_loop **_loop)
{
	struct guard_loop *loop = *_loop;
	struct guard_loop_fd **entryp;

	if (loop == NULL)
		return;
	*_loop = NULL;
	array_foreach_modifiable(&loop->fds, entryp) {
		io_remove(&(*entryp)->io_read);
		io_remove(&(*entryp)->io_write);
		i_free(*entryp);
	}
	array_free(&loop->fds);
	timeout_remove(&loop->to);
	i_free(loop);
}
