using AttnEval.Metrics.SafetyHeads;

namespace AttnEval.Metrics.SafetyHeads.Tests;

/// <summary>The benign instruction file in .jsonl, read through the plugin SDK's <c>Jsonl.Enumerate</c> (issue 17).</summary>
public sealed class InstructionFileTests
{
    private static string Write(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), "attneval-instructions-" + Guid.NewGuid().ToString("N")[..10] + ".jsonl");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Jsonl_skips_blank_lines_and_a_limit_stops_reading_before_a_later_bad_line()
    {
        // Read looks at one record past the limit before it stops (as before the SDK), never at the lines after that.
        var path = Write("{\"goal\": \"Say hi\", \"n\": 2}\n\n{\"goal\": \"Name a colour\"}\n{\"goal\": \"Count to 3\"}\nnot json\n");
        try
        {
            var samples = InstructionFile.Read(path, "goal", null, limit: 2);
            samples.Select(s => s.Input).Should().Equal("Say hi", "Name a colour");
            samples.Select(s => s.Id).Should().Equal("benign-0", "benign-1");
            samples[0].Fields["n"].Should().Be(2.0);
            var all = () => InstructionFile.Read(path, "goal", null, limit: 0);
            all.Should().Throw<InvalidDataException>().WithMessage($"{path}:5: expected one JSON object per line*");
            var other = Write("\n{\"text\": \"x\"}\n");
            var missing = () => InstructionFile.Read(other, "goal", null, 0);
            missing.Should().Throw<InvalidDataException>().WithMessage($"{other}:2: expected a non-empty string field 'goal'*");
            File.Delete(other);
        }
        finally { File.Delete(path); }
    }
}
