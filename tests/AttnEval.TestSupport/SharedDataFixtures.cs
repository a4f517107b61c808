using System.Reflection;
using Xunit;

namespace AttnEval.TestSupport;

/// <summary>
/// Finds the class and collection fixtures of a test assembly. A fixture whose constructor needs shared data fails every
/// test of its class when the data is absent (xunit reports the constructor's exception, even a skip, as a failure), so a
/// fixture must defer <see cref="SharedData.Require"/> to the tests; each test project checks its fixtures with this.
/// </summary>
public static class SharedDataFixtures
{
    /// <summary>Every type used as <c>IClassFixture&lt;T&gt;</c> or <c>ICollectionFixture&lt;T&gt;</c> in <paramref name="assembly"/>.</summary>
    public static IReadOnlyList<Type> In(Assembly assembly) =>
        assembly.GetTypes()
            .SelectMany(t => t.GetInterfaces())
            .Where(i => i.IsGenericType && (i.GetGenericTypeDefinition() == typeof(IClassFixture<>) || i.GetGenericTypeDefinition() == typeof(ICollectionFixture<>)))
            .Select(i => i.GetGenericArguments()[0])
            .Distinct()
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .ToList();

    /// <summary>Creates and disposes each fixture of <paramref name="assembly"/> with the shared data folder pointed at a
    /// folder that does not exist; returns one line per fixture whose constructor threw.</summary>
    public static IReadOnlyList<string> ThatThrowWithoutSharedData(Assembly assembly)
    {
        var problems = new List<string>();
        using var _ = SharedData.UseRoot(Path.Combine(Path.GetTempPath(), "attneval-no-shared-data-" + Guid.NewGuid().ToString("N")));
        foreach (var type in In(assembly))
        {
            try
            {
                (Activator.CreateInstance(type) as IDisposable)?.Dispose();
            }
            catch (Exception e)
            {
                var inner = e is TargetInvocationException { InnerException: { } ie } ? ie : e;
                problems.Add($"{type.FullName}: {inner.GetType().Name}: {inner.Message}");
            }
        }
        return problems;
    }
}
