using PFStorer.Graph.Backends;
using PFStorer.Kernels;
using Xunit;
using static PFStorer.Tests.Reference;
using static PFStorer.Graph.Tests.Ops.OpCheck;

namespace PFStorer.Graph.Tests.Ops;

/// <summary>Concat / Split / Slice / Reshape / Permute, Upsample2x and reductions (incl. all-reduce and MSE) through F.* and the tape.</summary>
public class ShapeTests
{
    // x viewed as [outer, n, inner] around dim.
    private static (int Outer, int N, int Inner) Around(int[] shape, int dim) =>
        (shape[..dim].Aggregate(1, (a, d) => a * d), shape[dim], shape[(dim + 1)..].Aggregate(1, (a, d) => a * d));

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(-1)]
    public void ConcatMatchesFloat64(int dim)
    {
        var rng = NewRandom(out int seed);
        int[] baseShape = [2, 3, 4, 5];
        int d = dim < 0 ? dim + 4 : dim;
        var shapes = new[] { 1, 3, 2 }.Select(s => { var sh = (int[])baseShape.Clone(); sh[d] = s; return sh; }).ToArray();
        ForwardAndBackward($"concat dim={dim} seed={seed}", rng, shapes.Select(s => new Input(RandomArray(rng, Numel(s)), s)).ToArray(),
            t => F.Concat(t, dim),
            x =>
            {
                var (outer, _, inner) = Around(shapes[0], d);
                var y = new List<double>();
                for (int o = 0; o < outer; o++)
                    for (int i = 0; i < x.Length; i++)
                    {
                        int block = shapes[i][d] * inner;
                        y.AddRange(x[i].Skip(o * block).Take(block));
                    }
                return [.. y];
            });
    }

    [Fact]
    public void SplitSliceReshapePermuteRouteGradients()
    {
        var rng = NewRandom(out int seed);
        int[] shape = [2, 5, 3];
        // y = concat(split(x, dim 1, [2, 3]) reversed) · c  +  reshape(permute(x)) sliced, so each view op has a distinct weight.
        ForwardAndBackward($"split/slice/reshape/permute seed={seed}", rng, [new(RandomArray(rng, 30), shape)],
            t =>
            {
                var parts = F.Split(t[0], 1, 2, 3);
                using var p0 = parts[0];
                using var p1 = parts[1];
                using var swapped = F.Concat([p1, p0], 1);          // [2,5,3]
                using var perm = F.Permute(t[0], 2, 0, 1);          // [3,2,5]
                using var flat = F.Reshape(perm, 6, 5);
                using var sl = F.Slice(flat, 0, 1, 4);              // rows 1..4 of [6,5] → [4,5]
                using var sl2 = F.Reshape(sl, -1);                  // 20
                using var sw2 = F.Reshape(swapped, -1);             // 30
                using var head = F.Slice(sw2, 0, 0, 20);
                return F.Mul(head, sl2);
            },
            x =>
            {
                var v = x[0];
                double At(int a, int b, int c) => v[(a * 5 + b) * 3 + c];
                var swapped = new double[30];
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 5; b++)
                        for (int c = 0; c < 3; c++)
                            swapped[(a * 5 + b) * 3 + c] = At(a, b < 3 ? b + 2 : b - 3, c);
                var perm = new double[30]; // [3,2,5]: perm[c,a,b] = x[a,b,c]
                for (int c = 0; c < 3; c++)
                    for (int a = 0; a < 2; a++)
                        for (int b = 0; b < 5; b++) perm[(c * 2 + a) * 5 + b] = At(a, b, c);
                return Enumerable.Range(0, 20).Select(i => swapped[i] * perm[5 + i]).ToArray();
            });
    }

    [Theory]
    [InlineData(new[] { 2, 3, 4, 5 })]
    [InlineData(new[] { 1, 1, 3, 9 })]
    [InlineData(new[] { 1, 2, 1, 1 })]
    public void Upsample2xMatchesFloat64(int[] shape)
    {
        var rng = NewRandom(out int seed);
        int h = shape[2], w = shape[3], planes = shape[0] * shape[1];
        ForwardAndBackward($"upsample2x {Str(shape)} seed={seed}", rng, [new(RandomArray(rng, Numel(shape)), shape)],
            t => F.Upsample2x(t[0]),
            x =>
            {
                var y = new double[x[0].Length * 4];
                for (int p = 0; p < planes; p++)
                    for (int i = 0; i < 2 * h; i++)
                        for (int j = 0; j < 2 * w; j++) y[(p * 2 * h + i) * 2 * w + j] = x[0][(p * h + i / 2) * w + j / 2];
                return y;
            });
    }

    private static double[] RefReduce(string op, double[] x, int[] shape, int dim)
    {
        var (outer, n, inner) = Around(shape, dim);
        var y = new double[outer * inner];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double acc = op == "max" ? double.NegativeInfinity : 0;
                for (int k = 0; k < n; k++)
                {
                    double v = x[(o * n + k) * inner + i];
                    acc = op == "max" ? Math.Max(acc, v) : acc + v;
                }
                y[o * inner + i] = op == "mean" ? acc / n : acc;
            }
        return y;
    }

    public static TheoryData<string, int[], int> ReduceCases()
    {
        var d = new TheoryData<string, int[], int>();
        foreach (var op in new[] { "sum", "mean", "max" })
        {
            d.Add(op, [2, 3, 4], 0);
            d.Add(op, [2, 3, 4], 1);
            d.Add(op, [2, 3, 4], -1);
            d.Add(op, [37], 0);
            d.Add(op, [3, 700], 1);
            d.Add(op, [5, 1, 3], 1);
        }
        return d;
    }

    [Theory]
    [MemberData(nameof(ReduceCases))]
    public void ReduceMatchesFloat64(string op, int[] shape, int dim)
    {
        var rng = NewRandom(out int seed);
        int d = dim < 0 ? dim + shape.Length : dim;
        // Sum and mean inputs offset by 2 (in [1, 3]): around 0 a short sum can cancel to near 0 and the f32 rounding of
        // the inputs alone exceeds 1e-5 of the result (seen: mean of 37 values, 3.4e-5). Max keeps [-1, 1], where its
        // finite differences were tuned (a larger offset widens the step and makes near-ties of the maximum likelier).
        var x = RandomArray(rng, Numel(shape)).Select(v => op == "max" ? v : v + 2).ToArray();
        ForwardAndBackward($"{op} {Str(shape)} dim={dim} seed={seed}", rng, [new(x, shape)],
            t => op switch { "sum" => F.Sum(t[0], dim), "mean" => F.Mean(t[0], dim), _ => F.Max(t[0], dim) },
            x => RefReduce(op, x[0], shape, d));
    }

    [Fact]
    public void MaxWritesTheFirstArgmaxOnTies()
    {
        var rng = NewRandom(out int seed);
        int[] shape = [3, 6, 4];
        // Few distinct values, so most columns hold ties.
        var x = Enumerable.Range(0, Numel(shape)).Select(_ => (double)rng.Next(3)).ToArray();
        foreach (int dim in new[] { 0, 1, 2 })
        {
            var (outer, n, inner) = Around(shape, dim);
            using var xt = Reference.Tensor(x, shape);
            var yShape = shape.Where((_, i) => i != dim).ToArray();
            using var y = Tensor.Empty(yShape);
            using var arg = Tensor.Empty(yShape, DType.I32);
            xt.Backend.Reduce(ReduceOp.Max, xt, dim, y, arg);
            var args = arg.Span<int>().ToArray();
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    int first = 0;
                    for (int k = 1; k < n; k++) if (x[(o * n + k) * inner + i] > x[(o * n + first) * inner + i]) first = k;
                    Assert.True(args[o * inner + i] == first, $"max dim={dim} at ({o},{i}): argIndex {args[o * inner + i]}, first maximum {first} (seed={seed})");
                }
        }
    }

    [Theory]
    [InlineData("mean")]
    [InlineData("sum")]
    [InlineData("max")]
    public void AllReduceMatchesFloat64(string op)
    {
        var rng = NewRandom(out int seed);
        int[] shape = [3, 4, 5];
        // As in the per-dimension reduce above: sum and mean inputs in [1, 3], so 60 values cannot cancel to near 0 (seen:
        // a mean failing 1e-5 by cancellation alone); max keeps [-1, 1].
        var x = RandomArray(rng, 60).Select(v => op == "max" ? v : v + 2).ToArray();
        ForwardAndBackward($"all-{op} seed={seed}", rng, [new(x, shape)],
            t =>
            {
                var y = op switch { "mean" => F.Mean(t[0]), "sum" => F.Sum(t[0]), _ => F.Max(t[0]) };
                Assert.Equal(0, y.Rank);
                return y;
            },
            x => [op switch { "mean" => x[0].Average(), "sum" => x[0].Sum(), _ => x[0].Max() }]);
    }

    [Fact]
    public void MseLossMatchesFloat64()
    {
        var rng = NewRandom(out int seed);
        int[] shape = [2, 3, 7];
        ForwardAndBackward($"mse seed={seed}", rng, [new(RandomArray(rng, 42), shape), new(RandomArray(rng, 42), shape)],
            t => F.MseLoss(t[0], t[1]),
            x => [x[0].Select((p, i) => (p - x[1][i]) * (p - x[1][i])).Average()]);
    }
}
