#ifndef GUARD_LOOP_H
#define GUARD_LOOP_H

struct ag_engine;

/* Drives the engine's non-blocking memcached connections from the current
   ioloop: the engine says which sockets to watch and when it wants its timer
   (struct ag_event_loop), this turns that into ios and a timeout. */
struct guard_loop;

/* Attaches engine to the ioloop; NULL with *error_r on failure. */
struct guard_loop *guard_loop_attach(struct ag_engine *engine,
				     const char **error_r);
/* Removes every io and the timeout. Call after freeing the engine: closing
   its connections, the engine stops watching their sockets through loop. */
void guard_loop_detach(struct guard_loop **loop);

#endif
