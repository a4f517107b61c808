using AttnEval.Abstractions;
using NSubstitute;

namespace AttnEval.Core.Tests;

/// <summary>A substitute backend <c>toy</c> whose model is a substitute of 2 layers × 3 heads (weights hash <c>abc</c>), for runner tests
/// whose parts never call the model.</summary>
internal static class ToyBackend
{
    /// <summary>The backend, available on every device, loading the toy model from any path.</summary>
    public static IModelBackend Create()
    {
        var model = Substitute.For<ILanguageModel>();
        model.Info.Returns(new ModelInfo("toy", 2, 3, 3, 12, 10, 64, "float32", "cpu") { WeightsSha256 = "abc" });
        var backend = Substitute.For<IModelBackend>();
        backend.Name.Returns("toy");
        backend.IsAvailable(Arg.Any<string>(), out Arg.Any<string>()).Returns(true);
        backend.Load(Arg.Any<ModelSource>(), Arg.Any<CancellationToken>()).Returns(model);
        return backend;
    }
}
