using System.Text.Json;

namespace AttnEval.Plugins.Sdk;

/// <summary>
/// Reads JSON Lines files (one JSON value per line) the way the plugins' corpora and needle files are read: blank lines are
/// skipped, line numbers are 1-based and counted over every line, and a line that is not JSON becomes an
/// <see cref="InvalidDataException"/> whose message the caller words (it knows what a line should hold).
/// </summary>
public static class Jsonl
{
    /// <summary>Reads every non-blank line of <paramref name="path"/> with <paramref name="read"/>.</summary>
    /// <typeparam name="T">What one line becomes.</typeparam>
    /// <param name="path">The file.</param>
    /// <param name="read">Turns a parsed line (its root element and 1-based line number) into a record; it may throw
    /// <see cref="InvalidDataException"/> for a line that is JSON but not the expected record.</param>
    /// <param name="notJson">The message for a line that is not JSON, given its line number and the parser's exception.</param>
    /// <returns>The records in file order.</returns>
    /// <exception cref="InvalidDataException">A line that is not JSON (message from <paramref name="notJson"/>, the parser's
    /// exception as inner exception), or whatever <paramref name="read"/> throws.</exception>
    public static List<T> Read<T>(string path, Func<JsonElement, int, T> read, Func<int, JsonException, string> notJson) =>
        Enumerate(path, read, notJson).ToList();

    /// <summary>Reads the non-blank lines of <paramref name="path"/> with <paramref name="read"/> lazily, one line per step, so a
    /// caller that stops early (a record limit) neither reads nor checks the lines after it. Same rules and errors as
    /// <see cref="Read{T}"/>, raised when the enumeration reaches the line.</summary>
    /// <typeparam name="T">What one line becomes.</typeparam>
    /// <param name="path">The file; opened when the enumeration starts.</param>
    /// <param name="read">Turns a parsed line (its root element, valid only during the call, and 1-based line number) into a record.</param>
    /// <param name="notJson">The message for a line that is not JSON, given its line number and the parser's exception.</param>
    /// <returns>The records in file order.</returns>
    /// <exception cref="InvalidDataException">A line that is not JSON, or whatever <paramref name="read"/> throws.</exception>
    public static IEnumerable<T> Enumerate<T>(string path, Func<JsonElement, int, T> read, Func<int, JsonException, string> notJson)
    {
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException e) { throw new InvalidDataException(notJson(lineNo, e), e); }
            using (doc) yield return read(doc.RootElement, lineNo);
        }
    }
}
