using System.Text.Json;
using AttnEval.Core.Judges;
using AttnEval.TestSupport;
using static AttnEval.Core.Tests.Judges.JudgeTestHelpers;

namespace AttnEval.Core.Tests.Judges;

public class NumericFinalAnswerJudgeTests
{
    // Real GSM8K test-set references (first and third items of the test split).
    private const string JanetTarget = "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = $<<9*2=18>>18 every day at the farmer\u2019s market.\n#### 18";
    private const string Josh = "The cost of the house and repairs came out to 80,000+50,000=$<<80000+50000=130000>>130,000\nHe increased the value of the house by 80,000*1.5=<<80000*1.5=120000>>120,000\nSo the new value of the house is 120,000+80,000=$<<120000+80000=200000>>200,000\nSo he made a profit of 200,000-130,000=$<<200000-130000=70000>>70,000\n#### 70000";

    private static readonly AttnEval.Abstractions.ICorrectnessJudge Judge = new NumericFinalAnswerJudgeFactory().Create(Options());

    [Theory]
    [InlineData("She eats 3 and bakes 4, so 16 - 3 - 4 = 9 eggs. 9 * 2 = 18.\n#### 18", true)]
    [InlineData("Janet makes $18 every day.", true)]
    [InlineData("#### 18.0", true)]
    [InlineData("#### $18.", true)]
    [InlineData("16 - 3 - 4 = 9 eggs, so she makes 9 * 2 = 18 dollars, i.e. 1800 cents", false)] // last number wins
    [InlineData("She sells 9 eggs.", false)]
    [InlineData("#### 19\nActually 18", false)] // the #### line wins over the last number
    public void Janet_ducks(string answer, bool correct) => Judge.Judge(answer, Sample(JanetTarget)).Correct.Should().Be(correct);

    [Theory]
    [InlineData("So he made a profit of $70,000.", "70000")]
    [InlineData("#### 70,000", "70000")]
    [InlineData("The profit is 200,000 - 130,000 = 70,000 dollars", "70000")]
    public void Josh_thousands_separators_and_currency_are_ignored(string answer, string extracted)
    {
        var v = Judge.Judge(answer, Sample(Josh));
        v.Correct.Should().BeTrue();
        v.Extracted.Should().Be(extracted);
        v.Expected.Should().Be("70000");
        v.Score.Should().Be(1);
    }

    [Fact]
    public void An_answer_without_a_number_is_wrong_not_an_error()
    {
        var v = Judge.Judge("I do not know.", Sample(JanetTarget));
        v.Should().Be(new AttnEval.Abstractions.JudgeVerdict(false, 0, null, "18"));
    }

    [Theory]
    [InlineData("Total: 1,234.50.", 1234.5)]
    [InlineData("It drops to -3 degrees", -3)]
    [InlineData("16-3-4=9", 9)]
    [InlineData("about 50% of them", 50)]
    [InlineData("so \\boxed{42} plus 7 spare", 42)]
    [InlineData("steps 1, 2\n#### 7\nthen 9", 7)]
    [InlineData("a .5 share", 0.5)]
    [InlineData("12,3456", 3456)]
    public void Final_number_extraction(string text, double expected) =>
        NumericFinalAnswerJudge.ExtractFinalNumber(text).Should().Be(expected);

    [Fact]
    public void No_number_extracts_null() => NumericFinalAnswerJudge.ExtractFinalNumber("none here").Should().BeNull();

    [Fact]
    public void Relative_tolerance_is_applied()
    {
        Judge.Judge("0.5000001", Sample("#### 0.5")).Correct.Should().BeTrue();   // |Δ| = 1e-7 ≤ 1e-6·1
        Judge.Judge("0.50001", Sample("#### 0.5")).Correct.Should().BeFalse();    // 1e-5 > 1e-6
        Judge.Judge("1000001", Sample("#### 1000000")).Correct.Should().BeTrue(); // 1 ≤ 1e-6·1e6
        Judge.Judge("1000002", Sample("#### 1000000")).Correct.Should().BeFalse();
        var loose = new NumericFinalAnswerJudgeFactory().Create(Options(("tolerance", 1e-3)));
        loose.Judge("0.50001", Sample("#### 0.5")).Correct.Should().BeTrue();
    }

    [Fact]
    public void A_plain_number_target_works_without_hashes() =>
        Judge.Judge("The answer is 3.", Sample("3")).Correct.Should().BeTrue();

    [Fact]
    public void A_target_without_a_number_is_an_input_error()
    {
        FluentActions.Invoking(() => Judge.Judge("18", Sample("eighteen", id: "gsm-4")))
            .Should().Throw<InvalidDataException>().WithMessage("*'gsm-4'*no number in the target*");
        FluentActions.Invoking(() => Judge.Judge("18", Sample(null)))
            .Should().Throw<InvalidDataException>().WithMessage("*no target*");
    }

    [Theory]
    [InlineData("Let me think. The answer is 18.", true)]
    [InlineData("The answer is $18", true)]
    [InlineData("The answer is 18 dollars", false)]
    [InlineData("18.0", false)] // string match: "180" vs "18"
    public void Polygraph_mode_is_a_string_match(string answer, bool correct)
    {
        var judge = new NumericFinalAnswerJudgeFactory().Create(Options(("mode", "polygraph")));
        judge.Judge(answer, Sample(JanetTarget)).Correct.Should().Be(correct);
    }

    [Fact]
    public void Unknown_mode_is_rejected() =>
        FluentActions.Invoking(() => new NumericFinalAnswerJudgeFactory().Create(Options(("mode", "fuzzy"))))
            .Should().Throw<ArgumentException>().WithMessage("*unknown mode 'fuzzy'*");

    [SkippableFact]
    public void Every_gsm8k_reference_judges_itself_correct_and_an_off_by_one_wrong()
    {
        var path = SharedData.Require("gsm8k/test.jsonl");
        var lines = File.ReadLines(path).Take(300).ToList();
        lines.Should().HaveCount(300);
        foreach (var line in lines)
        {
            var answer = JsonDocument.Parse(line).RootElement.GetProperty("answer").GetString()!;
            var expected = double.Parse(answer[(answer.LastIndexOf("####", StringComparison.Ordinal) + 4)..].Trim().Replace(",", ""), System.Globalization.CultureInfo.InvariantCulture);
            var sample = Sample(answer);
            var self = Judge.Judge(answer, sample);
            self.Correct.Should().BeTrue(answer);
            double.Parse(self.Expected!, System.Globalization.CultureInfo.InvariantCulture).Should().Be(expected);
            Judge.Judge($"So the result is {expected + 1}.", sample).Correct.Should().BeFalse();
        }
    }
}
