namespace PFStorer.Graph.Backends;

public partial interface IBackend
{
    /// <summary>
    /// One fused AdamW step (decoupled weight decay, bias-corrected moments) in place on param, m and v.
    /// step is 1-based.
    /// </summary>
    void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps, float weightDecay, int step);
}
