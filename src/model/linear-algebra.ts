import { CholeskyDecomposition, EigenvalueDecomposition, Matrix } from 'ml-matrix';

/**
 * The linear algebra models need, from `ml-matrix` (the one file that imports it): solving the
 * normal equations of a symmetric matrix, and its smallest eigenvalue (AdaSSP's adaptive ridge).
 * Plain number arrays in and out, so the rest of src/model stays library-free.
 */

/** (A + Aᵀ)/2: sums accumulated in another order differ in their last bits, and Cholesky wants exact symmetry. */
function symmetric(a: readonly (readonly number[])[]): Matrix {
  return new Matrix(a.map((row, i) => row.map((v, j) => (v + (a[j]?.[i] ?? v)) / 2)));
}

/** How `solveSymmetric` solved: by Cholesky, or with the smallest ridge that made the matrix positive definite. */
export interface SymmetricSolution {
  readonly solution: number[];
  readonly method: 'cholesky' | 'ridge';
  /** the ridge added to the diagonal (0 for a plain Cholesky solve) */
  readonly ridge: number;
}

/**
 * Solves A x = b for a symmetric A (X'X of a regression): Cholesky when A is positive definite,
 * else A + λI with λ growing from 1e-10 of A's mean diagonal until it is (a rank-deficient design:
 * collinear or constant features), which gives the minimum-norm-like regularised solution.
 */
export function solveSymmetric(a: readonly (readonly number[])[], b: readonly number[]): SymmetricSolution {
  const d = b.length;
  if (a.length !== d || a.some((row) => row.length !== d)) throw new RangeError('A must be d × d for b of length d');
  const matrix = symmetric(a);
  const rhs = Matrix.columnVector([...b]);
  const attempt = (m: Matrix) => {
    const cholesky = new CholeskyDecomposition(m);
    return cholesky.isPositiveDefinite() ? cholesky.solve(rhs).to1DArray() : undefined;
  };
  const plain = attempt(matrix);
  if (plain && plain.every(Number.isFinite)) return { solution: plain, method: 'cholesky', ridge: 0 };
  const scale = Math.max(Number.MIN_VALUE, matrix.diag().reduce((s, v) => s + Math.abs(v), 0) / Math.max(1, d));
  for (let ridge = scale * 1e-10; ridge <= scale * 1e6; ridge *= 10) {
    const solved = attempt(Matrix.add(matrix, Matrix.eye(d, d).mul(ridge)));
    if (solved && solved.every(Number.isFinite)) return { solution: solved, method: 'ridge', ridge };
  }
  throw new RangeError('the system could not be solved even with a large ridge');
}

/** A + λI solved by Cholesky (λ > 0 makes any symmetric positive semi-definite A positive definite). */
export function solveRidge(a: readonly (readonly number[])[], b: readonly number[], ridge: number): number[] {
  const d = b.length;
  const matrix = Matrix.add(symmetric(a), Matrix.eye(d, d).mul(ridge));
  const cholesky = new CholeskyDecomposition(matrix);
  if (!cholesky.isPositiveDefinite()) return solveSymmetric(matrix.to2DArray(), b).solution;
  return cholesky.solve(Matrix.columnVector([...b])).to1DArray();
}

/** The smallest eigenvalue of a symmetric matrix. */
export function smallestEigenvalue(a: readonly (readonly number[])[]): number {
  const eig = new EigenvalueDecomposition(symmetric(a), { assumeSymmetric: true });
  return Math.min(...eig.realEigenvalues);
}

/** The inverse of a symmetric positive definite matrix, or undefined when it is not (a collinear design). */
export function inverseSymmetric(a: readonly (readonly number[])[]): number[][] | undefined {
  const cholesky = new CholeskyDecomposition(symmetric(a));
  if (!cholesky.isPositiveDefinite()) return undefined;
  const inverse = cholesky.solve(Matrix.eye(a.length, a.length)).to2DArray();
  return inverse.every((row) => row.every(Number.isFinite)) ? inverse : undefined;
}

/**
 * The Moore–Penrose inverse of a symmetric positive semi-definite matrix (X'X, perhaps of a collinear
 * design: a full one-hot with an intercept), by its eigendecomposition, eigenvalues below 1e-10 of the
 * largest counting as zero; the smallest eigenvalue it kept (the inverse's largest is its inverse);
 * and, when it dropped any, the projector onto the directions it kept, so that a fit can be held to
 * exactly the directions the inverse describes.
 */
export function pseudoInverseSymmetric(a: readonly (readonly number[])[]): {
  inverse: number[][];
  smallestPositive: number;
  projector?: number[][];
} {
  const eig = new EigenvalueDecomposition(symmetric(a), { assumeSymmetric: true });
  const values = eig.realEigenvalues;
  const vectors = eig.eigenvectorMatrix;
  const floor = Math.max(0, ...values) * 1e-10;
  const d = a.length;
  const inverse = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  const projector = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  let smallestPositive = Number.POSITIVE_INFINITY;
  let dropped = 0;
  values.forEach((value, k) => {
    if (!(value > floor)) {
      dropped += 1;
      return;
    }
    smallestPositive = Math.min(smallestPositive, value);
    for (let i = 0; i < d; i += 1)
      for (let j = 0; j < d; j += 1) {
        const outer = vectors.get(i, k) * vectors.get(j, k);
        (inverse[i] as number[])[j]! += outer / value;
        (projector[i] as number[])[j]! += outer;
      }
  });
  return { inverse, smallestPositive, ...(dropped > 0 ? { projector } : {}) };
}

/** P·v and P·M·P for a projector P: statistics held to the directions P keeps. */
export const project = {
  vector: (p: readonly (readonly number[])[], v: readonly number[]): number[] =>
    p.map((row) => row.reduce((sum, x, j) => sum + x * (v[j] ?? 0), 0)),
  matrix: (p: readonly (readonly number[])[], m: readonly (readonly number[])[]): number[][] => {
    const pm = p.map((row) => m[0]!.map((_, j) => row.reduce((sum, x, k) => sum + x * (m[k]?.[j] ?? 0), 0)));
    return pm.map((row) => p[0]!.map((_, j) => row.reduce((sum, x, k) => sum + x * (p[k]?.[j] ?? 0), 0)));
  },
};
