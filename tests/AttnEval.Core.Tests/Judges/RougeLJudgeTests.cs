using AttnEval.Core.Judges;
using static AttnEval.Core.Tests.Judges.JudgeTestHelpers;

namespace AttnEval.Core.Tests.Judges;

public class RougeLJudgeTests
{
    [Theory]
    [InlineData("the cat sat on the mat", "the cat is on the mat", 5.0 / 6)] // LCS 5 of 6 and 6
    [InlineData("Paris", "Paris, France", 2.0 / 3)]                          // P = 1, R = 1/2
    [InlineData("New York City!", "new york city", 1.0)]                     // case and punctuation ignored
    [InlineData("a b c d", "d c b a", 0.25)]                                 // LCS 1: P = R = 1/4
    [InlineData("", "anything", 0.0)]
    [InlineData("dog", "cat", 0.0)]
    public void F_measure_by_hand(string candidate, string reference, double f) =>
        RougeLJudge.FMeasure(candidate, reference).Should().BeApproximately(f, 1e-12);

    [Fact]
    public void Threshold_is_strict_and_defaults_to_one_half()
    {
        var judge = new RougeLJudgeFactory().Create(Options());
        var v = judge.Judge("alpha beta", Sample("alpha gamma")); // F = 0.5 exactly
        v.Score.Should().BeApproximately(0.5, 1e-12);
        v.Correct.Should().BeFalse();
        new RougeLJudgeFactory().Create(Options(("threshold", 0.4))).Judge("alpha beta", Sample("alpha gamma")).Correct.Should().BeTrue();
        judge.Judge("the cat sat on the mat", Sample("the cat is on the mat")).Correct.Should().BeTrue();
    }

    [Fact]
    public void Best_reference_counts()
    {
        var fields = new Dictionary<string, object?> { ["refs"] = new List<object?> { "NYC", "the big apple" } };
        var judge = new RougeLJudgeFactory().Create(Options(("references_field", "refs")));
        var v = judge.Judge("nyc", Sample("New York City", fields));
        v.Correct.Should().BeTrue();
        v.Score.Should().Be(1.0);
        v.Expected.Should().Be("NYC");
    }

    [Fact]
    public void Threshold_outside_unit_interval_and_missing_references_are_errors()
    {
        FluentActions.Invoking(() => new RougeLJudgeFactory().Create(Options(("threshold", 1.5))))
            .Should().Throw<ArgumentException>().WithMessage("*[0, 1]*");
        FluentActions.Invoking(() => new RougeLJudgeFactory().Create(Options()).Judge("x", Sample(null, id: "c-9")))
            .Should().Throw<InvalidDataException>().WithMessage("*'c-9'*no target*");
    }
}
