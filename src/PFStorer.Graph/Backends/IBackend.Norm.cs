namespace PFStorer.Graph.Backends;

public partial interface IBackend
{
    /// <summary>
    /// GroupNorm over x [B,C,*] with <paramref name="groups"/> groups; weight/bias [C] optional.
    /// y = (silu ? SiLU : id)(norm(x)·w + b). mean and rstd [B·groups] are written for the backward pass. Statistics in f32.
    /// </summary>
    void GroupNorm(Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd, int groups, float eps, bool silu);
    void GroupNormBackward(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor rstd, Tensor dy,
        Tensor? dx, Tensor? dweight, Tensor? dbias, int groups, bool silu);

    /// <summary>LayerNorm over the last dimension of x [..., C]; mean and rstd have one entry per row.</summary>
    void LayerNorm(Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd, float eps);
    void LayerNormBackward(Tensor x, Tensor? weight, Tensor mean, Tensor rstd, Tensor dy, Tensor? dx, Tensor? dweight, Tensor? dbias);
}
