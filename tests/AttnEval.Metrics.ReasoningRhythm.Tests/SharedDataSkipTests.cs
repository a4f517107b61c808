using AttnEval.TestSupport;

namespace AttnEval.Metrics.ReasoningRhythm.Tests;

public sealed class SharedDataSkipTests
{
    /// <summary>No fixture of this assembly needs ../shared/data in its constructor (such a fixture would fail, not skip,
    /// every test of its class when the folder is absent); the lab model ships in the repository.</summary>
    [Fact]
    public void Fixtures_construct_without_shared_data() =>
        SharedDataFixtures.ThatThrowWithoutSharedData(typeof(SharedDataSkipTests).Assembly).Should().BeEmpty();
}
