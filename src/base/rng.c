/*
 * xoshiro256** (Blackman & Vigna, public domain reference algorithm),
 * written out here from the published description.  Seeding runs
 * splitmix64 over seed ^ golden-ratio * stream.
 */
#include "base/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void rng_seed(struct rng *self, uint64_t seed, uint64_t stream)
{
    uint64_t x =
        seed ^ (stream * UINT64_C(0xd1342543de82ef95)) ^ (stream << 17);

    for (int i = 0; i < 4; i++)
        self->s[i] = splitmix64(&x);
    if (!(self->s[0] | self->s[1] | self->s[2] | self->s[3]))
        self->s[0] = 1;
}

uint64_t rng_u64(struct rng *self)
{
    uint64_t *s = self->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_double(struct rng *self)
{
    return (double)(rng_u64(self) >> 11) * 0x1.0p-53;
}

uint64_t rng_below(struct rng *self, uint64_t n)
{
    /* Rejection sampling: discard the top partial range to stay unbiased. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;

    do {
        x = rng_u64(self);
    } while (x >= limit);
    return x % n;
}

int64_t rng_range(struct rng *self, int64_t lo, int64_t hi)
{
    /* Unsigned arithmetic: hi - lo overflows int64_t for wide ranges, and
     * the full range [INT64_MIN, INT64_MAX] has 2^64 values. */
    uint64_t span = (uint64_t)hi - (uint64_t)lo, x;

    if (hi <= lo)
        return lo;
    x = span == UINT64_MAX ? rng_u64(self) : rng_below(self, span + 1);
    x += (uint64_t)lo;
    return x > (uint64_t)INT64_MAX ? -(int64_t)(UINT64_MAX - x) - 1
                                   : (int64_t)x;
}

double rng_exp(struct rng *self, double mean)
{
    double u = rng_double(self);

    return -mean * log1p(-u);
}

int rng_chance(struct rng *self, double p)
{
    return rng_double(self) < p;
}
