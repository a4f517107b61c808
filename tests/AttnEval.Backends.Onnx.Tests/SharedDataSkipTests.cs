using AttnEval.TestSupport;

namespace AttnEval.Backends.Onnx.Tests;

/// <summary>Without ../shared/data the tests that need it skip with a reason (fail under CI=true); no fixture throws.</summary>
public sealed class SharedDataSkipTests
{
    [Fact]
    public void Fixtures_construct_without_shared_data_and_their_tests_skip_with_the_reason()
    {
        SharedDataFixtures.In(typeof(ParityTests).Assembly).Should().Contain(typeof(ParityTests.Stories));
        SharedDataFixtures.ThatThrowWithoutSharedData(typeof(ParityTests).Assembly).Should().BeEmpty();

        using var _ = SharedData.UseRoot("/nonexistent/attneval-shared");
        using var stories = new ParityTests.Stories();
        var get = () => stories.Get();
        if (SharedData.IsCi)
            get.Should().Throw<InvalidOperationException>().WithMessage("CI=true but shared data 'models/stories260K/stories260K.bin' not found under /nonexistent/attneval-shared *");
        else
            get.Should().Throw<SkipException>().WithMessage("shared data 'models/stories260K/stories260K.bin' not found under /nonexistent/attneval-shared *");
    }
}
