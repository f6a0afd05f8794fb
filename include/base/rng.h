/*
 * Seeded xoshiro256** generator, seeded through splitmix64 from (seed,
 * stream) so independent streams (one per agent, per actor) never overlap in
 * practice and the same seed always gives the same sequence on every
 * platform.  Each thread owns its own struct rng.  Not thread-safe.
 */
#ifndef RT_BASE_RNG_H
#define RT_BASE_RNG_H

#include <stdint.h>

struct rng {
    uint64_t s[4];
};

void rng_seed(struct rng *self, uint64_t seed, uint64_t stream);
uint64_t rng_u64(struct rng *self);
/* Uniform in [0, 1) with 53 bits. */
double rng_double(struct rng *self);
/* Uniform integer in [0, n); n > 0; unbiased. */
uint64_t rng_below(struct rng *self, uint64_t n);
/* Uniform integer in [lo, hi] inclusive. */
int64_t rng_range(struct rng *self, int64_t lo, int64_t hi);
/* Exponential with the given mean (same unit as the mean). */
double rng_exp(struct rng *self, double mean);
/* True with probability p. */
int rng_chance(struct rng *self, double p);

#endif
