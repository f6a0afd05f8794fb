/* Stop signals (see include/harness/sigwatch.h). */
#include "harness/sigwatch.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"

struct sigwatch {
    pthread_t thread;
    struct harness *h;
    atomic_int interrupted;
};

static void *watch_main(void *arg)
{
    struct sigwatch *w = arg;
    sigset_t set;
    int sig = 0;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    while (sigwait(&set, &sig) == 0 && sig != SIGUSR1) {
        const char *name = sig == SIGINT ? "Ctrl-C" : "SIGTERM";
        switch (harness_interrupt(w->h)) {
        case 0:
            atomic_store(&w->interrupted, 1);
            log_info("stopping on %s; the history up to now is kept", name);
            break;
        case 1:
            log_info("%s again: what runs after the stop ends after its "
                     "current step (again to cut it short)",
                     name);
            break;
        default:
            log_info("%s a third time: stopping at once", name);
            break;
        }
    }
    return NULL;
}

void sigwatch_block(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

enum rt_err sigwatch_start(struct sigwatch **out, struct harness *h)
{
    struct sigwatch *self = xcalloc(1, sizeof(*self));
    int rc;

    self->h = h;
    atomic_init(&self->interrupted, 0);
    if ((rc = pthread_create(&self->thread, NULL, watch_main, self))) {
        free(self);
        *out = NULL;
        return rt_fail(RT_ESYS, "cannot start the signal thread: %s",
                       strerror(rc));
    }
    *out = self;
    return RT_OK;
}

int sigwatch_stop(struct sigwatch *self)
{
    int interrupted;

    if (!self)
        return 0;
    pthread_kill(self->thread, SIGUSR1);
    pthread_join(self->thread, NULL);
    interrupted = atomic_load(&self->interrupted);
    free(self);
    return interrupted;
}
