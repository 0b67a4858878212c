using System.Net;
using System.Net.Sockets;

namespace StreamSegments.Kafka.Broker;

/// <summary>
/// Accepts connections on a fixed address and pipes each to a target. The mock cluster listens only on
/// ephemeral ports; a fixed, well-known port (9092) needs this in front of it.
/// </summary>
internal sealed class TcpForwarder : IAsyncDisposable
{
    private readonly TcpListener listener;
    private readonly IPEndPoint target;
    private readonly CancellationTokenSource stopping = new();
    private readonly Task accepting;

    public TcpForwarder(IPEndPoint listen, IPEndPoint target)
    {
        this.target = target;
        listener = new TcpListener(listen);
        listener.Start();
        Endpoint = (IPEndPoint)listener.LocalEndpoint;
        accepting = AcceptAsync(stopping.Token);
    }

    public IPEndPoint Endpoint { get; }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        try
        {
            await accepting;
        }
        catch (OperationCanceledException)
        {
        }

        stopping.Dispose();
    }

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = PipeAsync(client, cancellationToken);
        }
    }

    private async Task PipeAsync(TcpClient client, CancellationToken cancellationToken)
    {
        using (client)
        using (var upstream = new TcpClient())
        {
            try
            {
                client.NoDelay = true;
                upstream.NoDelay = true;
                await upstream.ConnectAsync(target, cancellationToken);
                var a = client.GetStream();
                var b = upstream.GetStream();
                await Task.WhenAny(a.CopyToAsync(b, cancellationToken), b.CopyToAsync(a, cancellationToken));
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A client or the broker went away: nothing to forward any more.
            }
        }
    }
}
