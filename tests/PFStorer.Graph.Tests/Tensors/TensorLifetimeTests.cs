using PFStorer.Tests;
using Xunit;

namespace PFStorer.Graph.Tests.Tensors;

/// <summary>A disposed handle can no longer reach memory, whatever other handles keep the storage alive.</summary>
public class TensorLifetimeTests
{
    [Fact]
    public void ADisposedHandleIsRefusedByEveryOpWhileItsViewsStayUsable()
    {
        var rng = Reference.NewRandom(out _);
        var values = Reference.ToFloat(Reference.RandomArray(rng, 12));
        var t = Tensor.FromArray(values, 3, 4);
        using var view = t.Share();
        t.Dispose();
        var e = Assert.Throws<ObjectDisposedException>(() => t.ToFloatArray());
        Assert.Contains("[3,4]", e.Message);
        Assert.Throws<ObjectDisposedException>(() => F.Scale(t, 2f));
        Assert.Equal(values, view.ToFloatArray());
    }
}
