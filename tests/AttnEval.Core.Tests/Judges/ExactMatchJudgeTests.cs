using AttnEval.Core.Judges;
using static AttnEval.Core.Tests.Judges.JudgeTestHelpers;

namespace AttnEval.Core.Tests.Judges;

public class ExactMatchJudgeTests
{
    private readonly ExactMatchJudgeFactory _factory = new();

    [Fact]
    public void Defaults_strip_whitespace_and_respect_case()
    {
        var judge = _factory.Create(Options());
        judge.Judge("  Paris\n", Sample("Paris")).Should().Be(new AttnEval.Abstractions.JudgeVerdict(true, 1, "Paris", "Paris"));
        judge.Judge("paris", Sample("Paris")).Correct.Should().BeFalse();
        judge.Judge("Paris.", Sample("Paris")).Score.Should().Be(0);
    }

    [Fact]
    public void Case_insensitive_option()
    {
        var judge = _factory.Create(Options(("case_sensitive", false)));
        judge.Judge("PARIS", Sample("Paris")).Correct.Should().BeTrue();
    }

    [Fact]
    public void Strip_off_keeps_whitespace_significant()
    {
        var judge = _factory.Create(Options(("strip", false)));
        judge.Judge(" Paris", Sample("Paris")).Correct.Should().BeFalse();
        judge.Judge("Paris", Sample("Paris")).Correct.Should().BeTrue();
    }

    [Fact]
    public void A_sample_without_target_is_an_input_error_naming_the_sample() =>
        FluentActions.Invoking(() => _factory.Create(Options()).Judge("x", Sample(null, id: "q-17")))
            .Should().Throw<InvalidDataException>().WithMessage("*'q-17'*no target*dataset.target*");
}
