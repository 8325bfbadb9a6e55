using PFStorer.Kernels.Cuda;

namespace PFStorer.Graph.Backends;

public sealed partial class CudaBackend
{
    private static readonly KernelFamily GroupNormKernels = new("groupnorm", [
        .. KernelFamily.PerFloatType(t => [$"groupnorm_fwd<{t}, false>", $"groupnorm_fwd<{t}, true>"]),
        .. KernelFamily.PerFloatType(t => [$"groupnorm_bwd_input<{t}, false>", $"groupnorm_bwd_input<{t}, true>"]),
        .. KernelFamily.PerFloatType(t => [$"groupnorm_bwd_params<{t}, false>", $"groupnorm_bwd_params<{t}, true>"])]);

    private static readonly KernelFamily LayerNormKernels = new("layernorm",
        [.. KernelFamily.PerFloatType(t => [$"layernorm_fwd<{t}>", $"layernorm_bwd_input<{t}>", $"layernorm_bwd_params<{t}>"])]);

    private const int NormBlock = 512;

    public void GroupNorm(Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd, int groups, float eps, bool silu)
    {
        var (b, c, s) = GroupNormShape(x, groups);
        SameShape("groupnorm", x, y);
        RequireF32("groupnorm", "mean", mean);
        RequireF32("groupnorm", "rstd", rstd);
        if (mean.Numel != (long)b * groups || rstd.Numel != (long)b * groups) throw new ArgumentException($"groupnorm: mean/rstd need {b * groups} entries");
        var t = FloatType("groupnorm", x, weight, bias, y);
        _gpu.Launch(Fn(GroupNormKernels, $"groupnorm_fwd<{t}, {Bool(silu)}>"), b * groups, NormBlock, 0,
            Ptr(x), Opt(weight), Opt(bias), Ptr(y), Ptr(mean), Ptr(rstd), c, s, groups, eps);
    }

    public void GroupNormBackward(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor rstd, Tensor dy,
        Tensor? dx, Tensor? dweight, Tensor? dbias, int groups, bool silu)
    {
        var (b, c, s) = GroupNormShape(x, groups);
        SameShape("groupnorm backward", x, dy);
        var t = FloatType("groupnorm backward", x, weight, bias, dy, dx, dweight, dbias);
        if (dx != null)
            _gpu.Launch(Fn(GroupNormKernels, $"groupnorm_bwd_input<{t}, {Bool(silu)}>"), b * groups, NormBlock, 0,
                Ptr(x), Opt(weight), Opt(bias), Ptr(mean), Ptr(rstd), Ptr(dy), Ptr(dx), c, s, groups);
        if (dweight != null || dbias != null)
            _gpu.Launch(Fn(GroupNormKernels, $"groupnorm_bwd_params<{t}, {Bool(silu)}>"), c, NormBlock, 0,
                Ptr(x), Opt(weight), Opt(bias), Ptr(mean), Ptr(rstd), Ptr(dy), Opt(dweight), Opt(dbias), b, c, s, groups);
    }

    private static (int B, int C, long S) GroupNormShape(Tensor x, int groups)
    {
        if (x.Rank < 2) throw new ArgumentException($"groupnorm: input {x.ShapeString} needs [B, C, ...]");
        int b = x.Dim(0), c = x.Dim(1);
        if (groups <= 0 || c % groups != 0) throw new ArgumentException($"groupnorm: {c} channels do not split into {groups} groups");
        return (b, c, b * c == 0 ? 0 : x.Numel / ((long)b * c));
    }

    private static string Bool(bool v) => v ? "true" : "false";

    public void LayerNorm(Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd, float eps)
    {
        SameShape("layernorm", x, y);
        int c = x.Dim(-1);
        long rows = x.Numel / c;
        RequireF32("layernorm", "mean", mean);
        RequireF32("layernorm", "rstd", rstd);
        if (mean.Numel != rows || rstd.Numel != rows) throw new ArgumentException($"layernorm: mean/rstd need {rows} entries");
        var t = FloatType("layernorm", x, weight, bias, y);
        _gpu.Launch(Fn(LayerNormKernels, $"layernorm_fwd<{t}>"), (int)rows, 256, 0, Ptr(x), Opt(weight), Opt(bias), Ptr(y), Ptr(mean), Ptr(rstd), c, eps);
    }

    public void LayerNormBackward(Tensor x, Tensor? weight, Tensor mean, Tensor rstd, Tensor dy, Tensor? dx, Tensor? dweight, Tensor? dbias)
    {
        SameShape("layernorm backward", x, dy);
        int c = x.Dim(-1);
        long rows = x.Numel / c;
        var t = FloatType("layernorm backward", x, weight, dy, dx, dweight, dbias);
        if (dx != null)
            _gpu.Launch(Fn(LayerNormKernels, $"layernorm_bwd_input<{t}>"), (int)rows, 256, 0, Ptr(x), Opt(weight), Ptr(mean), Ptr(rstd), Ptr(dy), Ptr(dx), c);
        if (dweight != null || dbias != null)
            _gpu.Launch(Fn(LayerNormKernels, $"layernorm_bwd_params<{t}>"), (c + 31) / 32, new Dim3(32, 8), 0,
                Ptr(x), Ptr(mean), Ptr(rstd), Ptr(dy), Opt(dweight), Opt(dbias), rows, c);
    }
}
