/** Theoretical error of one noisy statistic, for benchmarks to print beside the measured error. */
export interface ExpectedError {
  readonly medianAbsolute: number;
  readonly meanAbsolute: number;
  readonly rootMeanSquare: number;
}

/** Φ^-1(0.75): the median of |N(0, 1)|. */
const GAUSSIAN_MEDIAN_ABS = 0.6744897501960817;

/**
 * Continuous approximations of the discrete noise: Laplace(b) has median |error| b·ln 2, mean b and
 * RMS b·√2; N(0, σ²) has median 0.6745σ, mean σ·√(2/π) and RMS σ. Close for scales well above one
 * grid step; they ignore clamping bias and snapping.
 */
export function expectedAbsoluteError(noise: { mechanism: 'laplace' | 'gaussian'; scale: number }): ExpectedError {
  const s = noise.scale;
  if (noise.mechanism === 'laplace')
    return { medianAbsolute: s * Math.LN2, meanAbsolute: s, rootMeanSquare: s * Math.SQRT2 };
  return { medianAbsolute: GAUSSIAN_MEDIAN_ABS * s, meanAbsolute: s * Math.sqrt(2 / Math.PI), rootMeanSquare: s };
}
