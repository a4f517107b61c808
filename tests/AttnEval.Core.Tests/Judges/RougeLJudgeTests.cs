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

/// <summary>Issue 14 item 9: ROUGE on non-Latin text, through the one shared implementation (AttnEval.Abstractions.Rouge).</summary>
public class RougeUnicodeTests
{
    [Fact]
    public void Devanagari_vowel_signs_are_part_of_the_word()
    {
        // "दिन" (day) and "दान" (gift) differ only in their vowel signs ि / ा (combining marks): dropping the marks made
        // both the tokens "द", "न" and the judge scored 1.0.
        RougeLJudge.FMeasure("दिन", "दान").Should().Be(0);
        RougeLJudge.FMeasure("आज दिन है", "आज दान है").Should().BeApproximately(2.0 / 3, 1e-12); // LCS 2 of 3 and 3
    }

    [Fact]
    public void Composed_and_decomposed_accents_are_the_same_token()
    {
        RougeLJudge.FMeasure("cafe\u0301 noir", "caf\u00e9 noir").Should().Be(1.0);
        RougeLJudge.FMeasure("café", "cafe").Should().Be(0);
    }

    [Fact]
    public void Shared_tokens_keep_letters_marks_and_digits_of_any_script()
    {
        AttnEval.Abstractions.Rouge.Tokens("Running, dogs & CATS: 42x").Should().Equal("running", "dogs", "cats", "42x");
        AttnEval.Abstractions.Rouge.Tokens("Москва — столица!").Should().Equal("москва", "столица");
        AttnEval.Abstractions.Rouge.Tokens("मुझे काम").Should().Equal("मुझे", "काम");
        AttnEval.Abstractions.Rouge.Tokens("٤٢ apples").Should().Equal("٤٢", "apples");          // Arabic-Indic digits
        AttnEval.Abstractions.Rouge.Tokens("東京タワーへ").Should().Equal("東", "京", "タ", "ワ", "ー", "へ"); // one per CJK character
        AttnEval.Abstractions.Rouge.Tokens("\u0301x").Should().Equal("x");                         // a mark without a base separates
        AttnEval.Abstractions.Rouge.Tokens("walking dogs", w => w.TrimEnd('s')).Should().Equal("walking", "dog");
        AttnEval.Abstractions.Rouge.Tokens("cafés", w => "stemmed").Should().Equal("cafés");       // only ASCII tokens are stemmed
        AttnEval.Abstractions.Rouge.OneRecall(["a", "b", "b"], ["b", "a", "c"]).Should().BeApproximately(2.0 / 3, 1e-12); // clipped
    }
}
