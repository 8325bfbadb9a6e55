using PFStorer.Kernels.Cpu;

namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public void GroupNorm(Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd, int groups, float eps, bool silu)
    {
        var (b, c, s) = BatchChannelSpatial(x, "group norm");
        GroupNormCpu.Forward(F32(x), F32OrEmpty(weight), F32OrEmpty(bias), F32(y), F32(mean), F32(rstd), b, c, s, groups, eps, silu);
    }

    public void GroupNormBackward(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor rstd, Tensor dy, Tensor? dx, Tensor? dweight, Tensor? dbias, int groups, bool silu)
    {
        var (b, c, s) = BatchChannelSpatial(x, "group norm backward");
        GroupNormCpu.Backward(F32(x), F32OrEmpty(weight), F32OrEmpty(bias), F32(mean), F32(rstd), F32(dy),
            F32OrEmpty(dx), F32OrEmpty(dweight), F32OrEmpty(dbias), b, c, s, groups, silu);
    }

    public void LayerNorm(Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd, float eps) =>
        LayerNormCpu.Forward(F32(x), F32OrEmpty(weight), F32OrEmpty(bias), F32(y), F32(mean), F32(rstd), x.Dim(-1), eps);

    public void LayerNormBackward(Tensor x, Tensor? weight, Tensor mean, Tensor rstd, Tensor dy, Tensor? dx, Tensor? dweight, Tensor? dbias) =>
        LayerNormCpu.Backward(F32(x), F32OrEmpty(weight), F32(mean), F32(rstd), F32(dy), F32OrEmpty(dx), F32OrEmpty(dweight), F32OrEmpty(dbias), x.Dim(-1));

    private static (int Batch, int Channels, int Spatial) BatchChannelSpatial(Tensor x, string op)
    {
        if (x.Rank < 2) throw new ArgumentException($"{op}: x {x.ShapeString} needs at least [B, C]");
        long spatial = x.Numel / Math.Max(1L, (long)x.Dim(0) * x.Dim(1));
        return (x.Dim(0), x.Dim(1), checked((int)spatial));
    }
}
