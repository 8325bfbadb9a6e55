namespace PFStorer.Graph.Tests.Ops;

/// <summary>
/// The error function in double precision (|error| ≲ 1e-15): the reference the vectorised float erf of the CPU backend
/// (<c>ErfVector</c>) is held to over dense grids, where Simpson quadrature per point would be too slow.
/// Short polynomial fits such as Abramowitz–Stegun 7.1.26 (error 1.5e-7) are not accurate enough for a reference.
/// </summary>
internal static class Erf
{
    private const double TwoOverSqrtPi = 1.1283791670955126;
    private const double InvSqrtPi = 0.5641895835477563;

    public static double Of(double x)
    {
        double ax = Math.Abs(x);
        double r;
        if (ax < 2.5) r = Maclaurin(ax);
        else if (ax < 6.0) r = 1.0 - ErfcContinuedFraction(ax);
        else r = 1.0; // erfc(6) ≈ 2e-17, below double resolution at 1
        return x < 0 ? -r : r;
    }

    /// <summary>erfc(x) = 1 − erf(x) for x ≥ 0 without the cancellation of 1 − Of(x) in the tail.</summary>
    public static double Complement(double x)
    {
        if (x < 0) throw new ArgumentOutOfRangeException(nameof(x), x, "erfc reference: defined here for x ≥ 0 only");
        // Below 2.5, erfc ≥ 4e-4, so 1 − erf loses at most 4 of double's 16 digits.
        return x < 2.5 ? 1.0 - Maclaurin(x) : ErfcContinuedFraction(x);
    }

    // erf(x) = 2/√π · Σ (−1)ⁿ x^(2n+1) / (n!·(2n+1)). For x < 2.5 the largest term is < 40, so cancellation costs
    // under two digits; the loop stops when a term no longer changes the sum (≤ 40 terms).
    private static double Maclaurin(double x)
    {
        double x2 = x * x, power = x, sum = 0;
        for (int n = 0; n < 64; n++)
        {
            double term = power / (2 * n + 1);
            sum += term;
            if (Math.Abs(term) <= 1e-17 * Math.Abs(sum)) break;
            power *= -x2 / (n + 1);
        }
        return TwoOverSqrtPi * sum;
    }

    // Laplace's continued fraction erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + (2/2)/(x + (3/2)/(x + …)))),
    // evaluated bottom-up; for x ≥ 2.5 a depth of 60 converges to double precision.
    private static double ErfcContinuedFraction(double x)
    {
        double f = x;
        for (int k = 60; k >= 1; k--) f = x + 0.5 * k / f;
        return Math.Exp(-x * x) * InvSqrtPi / f;
    }
}
