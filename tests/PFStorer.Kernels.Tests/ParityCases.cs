using PFStorer.Graph;
using PFStorer.Graph.Backends;
using PFStorer.Kernels;
using PFStorer.Kernels.Cpu;
using Xunit;

namespace PFStorer.Kernels.Tests;

/// <summary>
/// The parity cases: every IBackend op, forward and backward, on fresh random inputs. Shapes are small but odd-sized, so
/// partial tiles and tails are exercised. A case names no backend: the same delegate runs on the reference and the candidate.
/// </summary>
public static class ParityCases
{
    private static (Tensor, ArgKind) D(Random r, params int[] shape) => (Rand(r, 1.0, shape), ArgKind.Data);
    private static (Tensor, ArgKind) F(Random r, params int[] shape) => (Rand(r, 1.0, shape), ArgKind.F32);
    private static OutputSpec O(params int[] shape) => new(shape);
    private static OutputSpec O32(params int[] shape) => new(shape, ArgKind.F32);

    private static Tensor Rand(Random r, double scale, int[] shape)
    {
        long n = shape.Aggregate(1L, (p, s) => p * s);
        return Tensor.FromArray(Reference.ToFloat(Reference.RandomArray(r, (int)n, scale)), shape);
    }

    private static Tensor Like(Tensor t, params int[] shape) => Tensor.Empty(shape.Length == 0 ? t.Shape : shape, t.DType, t.Device);

    public static IEnumerable<ParityCase> All() =>
    [
        .. Elementwise(), .. Norms(), .. Linear(), .. Conv(), .. Window(), .. Attention(), .. Embedding(), .. Shape(), .. Optim(), .. Copies(), .. Sampling(), .. Personalization(),
    ];

    private static IEnumerable<ParityCase> Elementwise()
    {
        foreach (var op in Enum.GetValues<UnaryOp>())
        {
            yield return new($"unary {op}", r => [D(r, 4, 33, 17)], [O(4, 33, 17)], (b, i, o) => b.Unary(op, i[0], o[0]));
            yield return new($"unary {op} backward", r => [D(r, 4, 33, 17), D(r, 4, 33, 17)], [O(4, 33, 17)], (b, i, o) => b.UnaryBackward(op, i[0], i[1], o[0]));
        }
        yield return new("geglu", r => [D(r, 3, 10, 48)], [O(3, 10, 24)], (b, i, o) => b.Geglu(i[0], o[0]));
        yield return new("geglu backward", r => [D(r, 3, 10, 48), D(r, 3, 10, 24)], [O(3, 10, 48)], (b, i, o) => b.GegluBackward(i[0], i[1], o[0]));
        foreach (var op in Enum.GetValues<BinaryOp>())
        {
            yield return new($"binary {op}", r => [D(r, 5, 7, 9), D(r, 5, 7, 9)], [O(5, 7, 9)], (b, i, o) => b.Binary(op, i[0], i[1], o[0]));
            yield return new($"binary {op} broadcast", r => [D(r, 2, 3, 5, 7), D(r, 3, 1, 7)], [O(2, 3, 5, 7)], (b, i, o) => b.Binary(op, i[0], i[1], o[0]));
            yield return new($"binary {op} broadcast both", r => [D(r, 4, 1, 6), D(r, 5, 1)], [O(4, 5, 6)], (b, i, o) => b.Binary(op, i[0], i[1], o[0]));
        }
        yield return new("leaky relu", r => [D(r, 4, 33, 17)], [O(4, 33, 17)], (b, i, o) => b.LeakyReLU(i[0], 0.2f, o[0]));
        yield return new("leaky relu backward", r => [D(r, 4, 33, 17), D(r, 4, 33, 17)], [O(4, 33, 17)], (b, i, o) => b.LeakyReLUBackward(i[0], 0.2f, i[1], o[0]));
        yield return new("affine", r => [D(r, 6, 11)], [O(6, 11)], (b, i, o) => b.Affine(i[0], 1.7f, -0.3f, o[0]));
        yield return new("sft", r => [D(r, 2, 4, 5, 6), D(r, 2, 4, 5, 6), D(r, 2, 4, 5, 6)], [O(2, 4, 5, 6)], (b, i, o) => b.Sft(i[0], i[1], i[2], o[0]));
        yield return new("sft backward", r => [D(r, 2, 4, 5, 6), D(r, 2, 4, 5, 6), D(r, 2, 4, 5, 6)], [O(2, 4, 5, 6), O(2, 4, 5, 6), O(2, 4, 5, 6)],
            (b, i, o) => b.SftBackward(i[0], i[1], i[2], o[0], o[1], o[2]));
    }

    private static IEnumerable<ParityCase> Norms()
    {
        foreach (bool silu in new[] { false, true })
        {
            yield return new($"groupnorm{(silu ? "+silu" : "")}", r => [D(r, 2, 32, 6, 5), D(r, 32), D(r, 32)], [O(2, 32, 6, 5), O32(16), O32(16)],
                (b, i, o) => b.GroupNorm(i[0], i[1], i[2], o[0], o[1], o[2], 8, 1e-5f, silu));
            yield return new($"groupnorm{(silu ? "+silu" : "")} backward", r => [D(r, 2, 32, 6, 5), D(r, 32), D(r, 32), D(r, 2, 32, 6, 5)],
                [O(2, 32, 6, 5), O(32), O(32)], (b, i, o) =>
                {
                    using var y = Like(i[0]);
                    using var mean = Tensor.Empty([16], DType.F32, i[0].Device);
                    using var rstd = Tensor.Empty([16], DType.F32, i[0].Device);
                    b.GroupNorm(i[0], i[1], i[2], y, mean, rstd, 8, 1e-5f, silu);
                    b.GroupNormBackward(i[0], i[1], i[2], mean, rstd, i[3], o[0], o[1], o[2], 8, silu);
                });
        }
        yield return new("layernorm", r => [D(r, 3, 7, 48), D(r, 48), D(r, 48)], [O(3, 7, 48), O32(21), O32(21)],
            (b, i, o) => b.LayerNorm(i[0], i[1], i[2], o[0], o[1], o[2], 1e-5f));
        yield return new("layernorm backward", r => [D(r, 3, 7, 48), D(r, 48), D(r, 48), D(r, 3, 7, 48)], [O(3, 7, 48), O(48), O(48)], (b, i, o) =>
        {
            using var y = Like(i[0]);
            using var mean = Tensor.Empty([21], DType.F32, i[0].Device);
            using var rstd = Tensor.Empty([21], DType.F32, i[0].Device);
            b.LayerNorm(i[0], i[1], i[2], y, mean, rstd, 1e-5f);
            b.LayerNormBackward(i[0], i[1], mean, rstd, i[3], o[0], o[1], o[2]);
        });
    }

    private static IEnumerable<ParityCase> Linear()
    {
        yield return new("matmul", r => [D(r, 5, 13), D(r, 13, 7)], [O(5, 7)], (b, i, o) => b.MatMul(i[0], i[1], o[0], false, false));
        yield return new("matmul aᵀ", r => [D(r, 13, 5), D(r, 13, 7)], [O(5, 7)], (b, i, o) => b.MatMul(i[0], i[1], o[0], true, false));
        yield return new("matmul bᵀ + bias", r => [D(r, 5, 13), D(r, 7, 13), D(r, 7)], [O(5, 7)], (b, i, o) => b.MatMul(i[0], i[1], o[0], false, true, bias: i[2]));
        yield return new("matmul aᵀbᵀ", r => [D(r, 13, 5), D(r, 7, 13)], [O(5, 7)], (b, i, o) => b.MatMul(i[0], i[1], o[0], true, true));
        yield return new("matmul batched", r => [D(r, 3, 5, 13), D(r, 3, 13, 7)], [O(3, 5, 7)], (b, i, o) => b.MatMul(i[0], i[1], o[0], false, false));
        yield return new("matmul shared weight", r => [D(r, 3, 5, 13), D(r, 7, 13), D(r, 7)], [O(3, 5, 7)], (b, i, o) => b.MatMul(i[0], i[1], o[0], false, true, bias: i[2]));
        yield return new("matmul accumulate", r => [D(r, 5, 13), D(r, 13, 7)], [O(5, 7)], (b, i, o) =>
        {
            b.Fill(o[0], 0.25);
            b.MatMul(i[0], i[1], o[0], false, false, alpha: 0.7f, beta: 1f);
        });
    }

    private static IEnumerable<ParityCase> Window()
    {
        foreach (var (k, stride, pad, ho, wo) in new[] { (3, 1, 1, 9, 8), (3, 2, 0, 4, 3), (5, 2, 2, 5, 4) })
        {
            yield return new($"depthwise conv2d {k}x{k} s{stride} p{pad}", r => [D(r, 2, 7, 9, 8), D(r, 7, 1, k, k), D(r, 7)], [O(2, 7, ho, wo)],
                (b, i, o) => b.DepthwiseConv2d(i[0], i[1], i[2], o[0], stride, pad));
        }
        foreach (var op in Enum.GetValues<PoolOp>())
        {
            yield return new($"pool2d {op} 3x3 s2", r => [D(r, 2, 5, 11, 10)], [O(2, 5, 5, 4)], (b, i, o) => b.Pool2d(op, i[0], o[0], 3, 2));
            yield return new($"pool2d {op} 2x2 s1", r => [D(r, 2, 5, 7, 6)], [O(2, 5, 6, 5)], (b, i, o) => b.Pool2d(op, i[0], o[0], 2, 1));
        }
        yield return new("pad2d", r => [D(r, 2, 3, 7, 5)], [O(2, 3, 10, 9)], (b, i, o) => b.Pad2d(i[0], o[0], 1, 3, -0.5f));
    }

    private static IEnumerable<ParityCase> Conv()
    {
        foreach (var (k, stride, pad, ho, wo) in new[] { (3, 1, 1, 9, 8), (3, 2, 1, 5, 4), (1, 1, 0, 9, 8) })
        {
            string name = $"conv2d {k}x{k} s{stride} p{pad}";
            yield return new(name, r => [D(r, 2, 5, 9, 8), D(r, 6, 5, k, k), D(r, 6)], [O(2, 6, ho, wo)], (b, i, o) => b.Conv2d(i[0], i[1], i[2], o[0], stride, pad));
            yield return new($"{name} backward", r => [D(r, 2, 5, 9, 8), D(r, 6, 5, k, k), D(r, 2, 6, ho, wo)], [O(2, 5, 9, 8), O(6, 5, k, k), O(6)],
                (b, i, o) => b.Conv2dBackward(i[0], i[1], i[2], o[0], o[1], o[2], stride, pad));
        }
    }

    /// <param name="FullyMaskLast">Masks every key of the last batch entry (its rows become uniform, their dS zero).</param>
    private sealed record AttentionSetup(string Name, int B, int Tq, int Tk, int H, int D, int Dv, bool Mask, bool Causal, int[]? Keys, bool FullyMaskLast = false)
    {
        public AttentionArgs Args(Tensor? mask) => new(H, 1f / MathF.Sqrt(D), mask, Causal, Keys);
        public int Nk => Keys == null ? 0 : Keys.Length / B;
    }

    private static (Tensor, ArgKind) KeyMask(Random r, int b, int tk, bool fullyMaskLast)
    {
        var m = new float[b * tk];
        for (int i = 0; i < m.Length; i++) m[i] = r.NextDouble() < 0.3 ? 0f : 1f;
        for (int i = 0; i < b; i++) m[i * tk] = 1f;   // at least one visible key per row…
        if (fullyMaskLast) Array.Clear(m, (b - 1) * tk, tk);   // …unless the case asks for a fully masked entry
        return (Tensor.FromArray(m, b, tk), ArgKind.F32);
    }

    private static IEnumerable<ParityCase> Attention()
    {
        AttentionSetup[] setups =
        [
            new("self-attention D64", 2, 100, 100, 2, 64, 64, false, false, null),        // bf16: tensor-core path
            new("self-attention D128", 1, 70, 130, 2, 128, 128, false, false, null),      // bf16: tensor-core path, partial tiles
            new("text cross-attention D40 masked", 2, 50, 77, 3, 40, 40, true, false, null),
            new("causal text self-attention D64", 2, 77, 77, 2, 64, 64, false, true, null),
            new("masked attention with probs D80", 2, 33, 45, 2, 80, 48, true, false, [3, 5, 7, 9]),
            new("fully masked entry with probs D64", 2, 40, 30, 2, 64, 64, true, false, [1, 2, 3, 4], FullyMaskLast: true),
        ];
        foreach (var s in setups)
        {
            yield return new($"attention {s.Name}", r =>
                [D(r, s.B, s.Tq, s.H * s.D), D(r, s.B, s.Tk, s.H * s.D), D(r, s.B, s.Tk, s.H * s.Dv), .. s.Mask ? new[] { KeyMask(r, s.B, s.Tk, s.FullyMaskLast) } : []],
                [O(s.B, s.Tq, s.H * s.Dv), O32(s.B, s.H, s.Tq), .. s.Nk > 0 ? new[] { O(s.B, s.Tq, s.Nk) } : []],
                (b, i, o) => b.Attention(i[0], i[1], i[2], o[0], o[1], s.Nk > 0 ? o[2] : null, s.Args(s.Mask ? i[3] : null)));
            yield return new($"attention {s.Name} backward", r =>
                [D(r, s.B, s.Tq, s.H * s.D), D(r, s.B, s.Tk, s.H * s.D), D(r, s.B, s.Tk, s.H * s.Dv), D(r, s.B, s.Tq, s.H * s.Dv),
                 .. s.Nk > 0 ? new[] { D(r, s.B, s.Tq, s.Nk) } : [], .. s.Mask ? new[] { KeyMask(r, s.B, s.Tk, s.FullyMaskLast) } : []],
                [O(s.B, s.Tq, s.H * s.D), O(s.B, s.Tk, s.H * s.D), O(s.B, s.Tk, s.H * s.Dv)],
                (b, i, o) =>
                {
                    var mask = s.Mask ? i[^1] : null;
                    var args = s.Args(mask);
                    using var fwd = Like(i[0], s.B, s.Tq, s.H * s.Dv);
                    using var lse = Tensor.Empty([s.B, s.H, s.Tq], DType.F32, i[0].Device);
                    using var probs = s.Nk > 0 ? Like(i[0], s.B, s.Tq, s.Nk) : null;
                    b.Attention(i[0], i[1], i[2], fwd, lse, probs, args);
                    b.AttentionBackward(i[0], i[1], i[2], fwd, lse, i[3], s.Nk > 0 ? i[4] : null, o[0], o[1], o[2], args);
                });
        }
    }

    private static IEnumerable<ParityCase> Embedding()
    {
        yield return new("timestep embedding f32 t", r => [(Tensor.FromArray(Enumerable.Range(0, 4).Select(_ => (float)r.Next(0, 1000)).ToArray(), 4), ArgKind.F32)],
            [O(4, 320)], (b, i, o) => b.TimestepEmbedding(i[0], o[0], 10000f));
        yield return new("timestep embedding i64 t", r => [(Tensor.FromArray(Enumerable.Range(0, 3).Select(_ => (long)r.Next(0, 1000)).ToArray(), 3), ArgKind.Exact)],
            [O(3, 32)], (b, i, o) => b.TimestepEmbedding(i[0], o[0], 10000f));
        const int vocab = 50, width = 24, placeholder = 42;
        (Tensor, ArgKind) Ids(Random r)
        {
            var ids = Enumerable.Range(0, 14).Select(_ => (long)(r.NextDouble() < 0.2 ? placeholder : r.Next(0, vocab))).ToArray();
            ids[3] = placeholder;
            ids[5] = ids[6];   // a repeated row: the scatter-add must sum it
            return (Tensor.FromArray(ids, 2, 7), ArgKind.Exact);
        }
        yield return new("token embedding with override row", r => [Ids(r), D(r, vocab, width), D(r, width)], [O(2, 7, width)],
            (b, i, o) => b.Embedding(i[0], i[1], o[0], placeholder, i[2]));
        yield return new("token embedding backward", r => [Ids(r), D(r, 2, 7, width)], [O(vocab, width), O(width)],
            (b, i, o) => b.EmbeddingBackward(i[0], i[1], o[0], placeholder, o[1]));
    }

    private static IEnumerable<ParityCase> Shape()
    {
        yield return new("sum to shape [6,1]", r => [D(r, 4, 6, 5)], [O(6, 1)], (b, i, o) => b.SumToShape(i[0], o[0]));
        yield return new("sum to shape [5]", r => [D(r, 4, 6, 5)], [O(5)], (b, i, o) => b.SumToShape(i[0], o[0]));
        yield return new("sum to shape [4,1,5]", r => [D(r, 4, 6, 5)], [O(4, 1, 5)], (b, i, o) => b.SumToShape(i[0], o[0]));
        yield return new("concat dim 1", r => [D(r, 2, 3, 4), D(r, 2, 5, 4), D(r, 2, 1, 4)], [O(2, 9, 4)], (b, i, o) => b.Concat(i, 1, o[0]));
        yield return new("concat last dim", r => [D(r, 2, 3, 4), D(r, 2, 3, 7)], [O(2, 3, 11)], (b, i, o) => b.Concat(i, -1, o[0]));
        yield return new("upsample2x", r => [D(r, 2, 3, 5, 4)], [O(2, 3, 10, 8)], (b, i, o) => b.Upsample2x(i[0], o[0]));
        yield return new("upsample2x backward", r => [D(r, 2, 3, 10, 8)], [O(2, 3, 5, 4)], (b, i, o) => b.Upsample2xBackward(i[0], o[0]));
        foreach (var op in Enum.GetValues<ReduceOp>())
        {
            bool max = op == ReduceOp.Max;
            yield return new($"reduce {op}", r => [D(r, 3, 6, 5)], max ? [O(3, 5), new OutputSpec([3, 5], ArgKind.Exact)] : [O(3, 5)],
                (b, i, o) => b.Reduce(op, i[0], 1, o[0], max ? o[1] : null));
            yield return new($"reduce {op} backward", r => [D(r, 3, 6, 5), D(r, 3, 5)], [O(3, 6, 5)], (b, i, o) =>
            {
                using var y = Like(i[0], 3, 5);
                using var arg = max ? Tensor.Empty([3, 5], DType.I32, i[0].Device) : null;
                if (max) b.Reduce(op, i[0], 1, y, arg);
                b.ReduceBackward(op, i[1], arg, 1, o[0]);
            });
        }
    }

    private static IEnumerable<ParityCase> Optim()
    {
        yield return new("adamw", r => [D(r, 7, 9), D(r, 7, 9), F(r, 7, 9), (Tensor.FromArray(Reference.ToFloat(Reference.RandomArray(r, 63)).Select(MathF.Abs).ToArray(), 7, 9), ArgKind.F32)],
            [], (b, i, _) => b.AdamW(i[0], i[1], i[2], i[3], 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 3), CompareInputs: [0, 2, 3]);
    }

    private static IEnumerable<ParityCase> Copies()
    {
        yield return new("copy permuted view", r => [D(r, 4, 6, 5)], [O(5, 4, 6)], (b, i, o) =>
        {
            using var view = i[0].Permute(2, 0, 1);
            b.Copy(view, o[0]);
        });
        yield return new("copy sliced view", r => [D(r, 4, 6, 5)], [O(4, 2, 5)], (b, i, o) =>
        {
            using var view = i[0].Slice(1, 3, 2);
            b.Copy(view, o[0]);
        });
        yield return new("cast to f32", r => [D(r, 3, 17)], [O32(3, 17)], (b, i, o) => b.Copy(i[0], o[0]));
        yield return new("fill", _ => [], [O(5, 9)], (b, _, o) => b.Fill(o[0], 0.375));
    }

    private static IEnumerable<ParityCase> Sampling()
    {
        ulong seed = (ulong)Random.Shared.NextInt64(), stream = (ulong)Random.Shared.Next(0, 4);
        yield return new($"standard normal (seed {seed}, stream {stream})", _ => [], [O32(1001)], (b, _, o) => b.StandardNormal(o[0], seed, stream));
        yield return new("guidance", r => [D(r, 2, 4, 9, 7), D(r, 2, 4, 9, 7)], [O(2, 4, 9, 7)], (b, i, o) => b.Guidance(i[0], i[1], 7.5f, o[0]));
        yield return new("accumulate tile", r => [D(r, 2, 4, 5, 6), D(r, 5, 6), D(r, 2, 4, 11, 13)], [],
            (b, i, _) => b.AccumulateTile(i[0], i[1], i[2], 3, 4), CompareInputs: [2]);
        var c = new PosteriorCoefficients(1.05f, 0.32f, 0.41f, 0.58f, 0.17f);
        yield return new("posterior step", r => [D(r, 2, 4, 9, 7), D(r, 2, 4, 9, 7), D(r, 2, 4, 9, 7)], [O(2, 4, 9, 7), O(2, 4, 9, 7), O(2, 4, 9, 7)],
            (b, i, o) => b.PosteriorStep(i[0], i[1], i[2], c, o[0], o[1], o[2]));
        yield return new("posterior step, last step in place", r => [D(r, 2, 4, 9, 7), D(r, 2, 4, 9, 7)], [],
            (b, i, _) => b.PosteriorStep(i[0], i[1], null, c with { NoiseStd = 0 }, i[0], null, null), CompareInputs: [0]);
    }

    private static IEnumerable<ParityCase> Personalization()
    {
        yield return new("personalize residual", r => [D(r, 2, 10, 16), D(r, 2, 10, 16), D(r, 16), D(r, 16)], [O(2, 10, 16)],
            (b, i, o) => b.PersonalizeResidual(i[0], i[1], i[2], i[3], o[0]));
        yield return new("personalize residual backward", r => [D(r, 2, 10, 16), D(r, 16), D(r, 16), D(r, 2, 10, 16)], [O(2, 10, 16), O(16)],
            (b, i, o) => b.PersonalizeResidualBackward(i[0], i[1], i[2], i[3], o[0], o[1]));
        // Attention maps are positive; 0.5 + 0.4·U(−1, 1) keeps the maxima away from zero.
        (Tensor, ArgKind) Map(Random r, params int[] shape)
        {
            using var u = Rand(r, 0.4, shape);
            var t = Tensor.FromArray(u.ToFloatArray().Select(v => v + 0.5f).ToArray(), shape);
            return (t, ArgKind.Data);
        }
        yield return new("attention-map loss", r => [Map(r, 2, 300), Map(r, 2, 300)], [O32(1)], (b, i, o) => b.AttentionMapLoss(i[0], i[1], o[0]));
        yield return new("attention-map loss backward", r => [Map(r, 2, 300), Map(r, 2, 300), F(r, 1)], [O(2, 300)],
            (b, i, o) => b.AttentionMapLossBackward(i[0], i[1], i[2], o[0]));
    }
}
