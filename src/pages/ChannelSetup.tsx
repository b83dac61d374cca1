/**
 * Channel setup that finishes the job: the webhook URL, a warning when the public base URL can't be
 * reached from the internet, and per-vendor steps naming the console's exact fields, with copy-ready
 * commands (Telegram setWebhook with a generated secret token, a Slack app manifest, the Discord
 * command registration). Secrets are write-only: a generated token is shown once, here.
 */
import { useState, type ReactNode } from "react";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { useMutate } from "../lib/data";
import { useCan } from "../auth/role";
import { CopyButton, InlineError, Notice, RoleButton } from "../ui/kit";
import type { Platform } from "../../convex/channels/platforms/index";
import "../ui/gate.css";

export type SetupChannel = {
  _id: Id<"channelConfig">;
  platform: Platform;
  name: string;
  enabled: boolean;
  settings: Record<string, string>;
  webhookUrl: string | null;
  publicUrlProblem?: "loopback" | "private" | "local-name" | "not-https" | null;
  /** the adapter's steps, shown for platforms without a hand-written setup below */
  setupSteps?: string[];
};

const PROBLEM_TEXT: Record<string, string> = {
  loopback: "points at this machine (localhost / 127.0.0.1 / *.localhost)",
  private: "is a private or internal address (10.x, 192.168.x, 172.16–31.x, fc00::/7 …)",
  "local-name": "is a local name (no dot, or .local / .internal / .lan)",
  "not-https": "uses plain http; the vendors only call https",
};

/** 32 random bytes as base64url: Telegram's secret_token alphabet (A-Z a-z 0-9 _ -), 43 characters. */
export function randomSecretToken(): string {
  const b = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...b))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

function Cmd({ text, label }: { text: string; label: string }) {
  return (
    <div className="mt1">
      <pre className="code-block cmd-box" aria-label={label} tabIndex={0}>
        {text}
      </pre>
      <CopyButton text={text} label={`Copy ${label}`} />
    </div>
  );
}

const F = ({ children }: { children: string }) => <span className="field-name">“{children}”</span>;
const S = ({ children }: { children: string }) => <code>{children}</code>;

export function ChannelSetup({ c }: { c: SetupChannel }) {
  const url = c.webhookUrl ?? `<public base URL>/webhooks/${c.platform}/${c._id}`;
  return (
    <>
      <h3>Webhook URL</h3>
      {c.webhookUrl ? (
        <div className="row mt1 mb2">
          <code className="token-box grow wrap-anywhere">{c.webhookUrl}</code>
          <CopyButton text={c.webhookUrl} label="Copy URL" />
        </div>
      ) : (
        <Notice tone="warn">
          The server doesn't know its public address yet. Set WARDEN_PUBLIC_BASE_URL (or CONVEX_SITE_URL) on the
          deployment.
        </Notice>
      )}
      {c.publicUrlProblem ? (
        <Notice tone="warn" title="Vendors can't reach this URL from the internet">
          The public base URL (WARDEN_PUBLIC_BASE_URL) {PROBLEM_TEXT[c.publicUrlProblem]}, so{" "}
          {c.platform === "twilio" ? "Twilio" : c.platform[0].toUpperCase() + c.platform.slice(1)} can't deliver to it.
          Set it to the https address the internet reaches this server at (your domain behind TLS, or a tunnel for
          testing) and restart.
        </Notice>
      ) : null}
      <h3>Setup</h3>
      {RICH_SETUP[c.platform]?.(c, url) ?? <GenericSetup c={c} />}
    </>
  );
}

/**
 * Hand-written setup (generated tokens, manifests, copy-ready commands) where a vendor has one;
 * any other platform shows its adapter's setup steps (the server's `setupSteps`).
 */
const RICH_SETUP: Partial<Record<Platform, (c: SetupChannel, url: string) => ReactNode>> = {
  telegram: (c, url) => <TelegramSetup c={c} url={url} />,
  slack: (c, url) => <SlackSetup c={c} url={url} />,
  discord: (c, url) => <DiscordSetup c={c} url={url} />,
  twilio: (_c, url) => <TwilioSetup url={url} />,
  resend: (_c, url) => <ResendSetup url={url} />,
};

function GenericSetup({ c }: { c: SetupChannel }) {
  return (
    <ol>
      {(c.setupSteps ?? []).map((step, i) => (
        <li key={i}>{step}</li>
      ))}
      <EnableLast c={c} />
    </ol>
  );
}

function EnableLast({ c }: { c: SetupChannel }) {
  return (
    <li>
      {c.enabled
        ? "The channel is enabled."
        : "Enable this channel (button above) before the vendor's first call: while disabled its webhook answers 404."}
    </li>
  );
}

function TelegramSetup({ c, url }: { c: SetupChannel; url: string }) {
  const setSecret = useMutate(api.secrets.manage.setChannelSecret, { toast: "Secret token generated and saved." });
  const canOwner = useCan("owner");
  const [token, setToken] = useState<string | null>(null);
  const generate = async () => {
    const t = randomSecretToken();
    const r = await setSecret.run({ channelId: c._id, name: "TELEGRAM_SECRET_TOKEN", value: t });
    if (r.ok) setToken(t);
  };
  const cmd = [
    "read -rs TELEGRAM_BOT_TOKEN   # paste the token from @BotFather, then Enter",
    `curl -sS "https://api.telegram.org/bot\${TELEGRAM_BOT_TOKEN}/setWebhook" \\`,
    `  --data-urlencode "url=${url}" \\`,
    `  --data-urlencode "secret_token=${token ?? "<TELEGRAM_SECRET_TOKEN>"}" \\`,
    `  --data-urlencode 'allowed_updates=["message"]'`,
  ].join("\n");
  return (
    <ol className="steps setup-steps mt1">
      <li>
        In Telegram, message <strong>@BotFather</strong>: <S>/newbot</S>, pick a name and a username. Copy the token it
        prints (<S>123456:ABC…</S>) and save it below as the secret <S>TELEGRAM_BOT_TOKEN</S>.
      </li>
      <li>
        Generate the webhook secret token: Warden saves it as <S>TELEGRAM_SECRET_TOKEN</S> and shows it once, filled
        into the command below.
        <div className="row mt1">
          <RoleButton need="owner" variant="primary" pending={setSecret.pending} onClick={() => void generate()}>
            {token ? "Generate a new secret token" : "Generate secret token"}
          </RoleButton>
          {!canOwner ? <span className="small muted">Only owners set channel secrets.</span> : null}
        </div>
        <InlineError error={setSecret.error} />
        {token ? (
          <Notice tone="ok" title="Secret token saved">
            It's in the command below and won't be shown again. Run the command now; generating another one replaces it
            (and the old webhook stops verifying).
          </Notice>
        ) : null}
      </li>
      <li>
        Register the webhook with Telegram (run this in a terminal; the bot token is read without echo, so it stays out
        of your shell history):
        <Cmd text={cmd} label="setWebhook command" />
        Telegram answers <S>{`{"ok":true,"result":true,"description":"Webhook was set"}`}</S>. It then sends the secret
        token in the <S>X-Telegram-Bot-Api-Secret-Token</S> header of every update; Warden refuses updates without it.
      </li>
      <EnableLast c={c} />
      <li>
        Check it: <S>{`curl -sS "https://api.telegram.org/bot\${TELEGRAM_BOT_TOKEN}/getWebhookInfo"`}</S> shows the URL
        and <S>last_error_message</S> if Telegram couldn't deliver.
      </li>
    </ol>
  );
}

function SlackSetup({ c, url }: { c: SetupChannel; url: string }) {
  const manifest = JSON.stringify(
    {
      display_information: { name: c.name.slice(0, 35) || "Warden" },
      features: {
        bot_user: { display_name: (c.name.slice(0, 35) || "Warden").replace(/[^\w .-]/g, ""), always_online: true },
      },
      oauth_config: { scopes: { bot: ["app_mentions:read", "chat:write", "im:history"] } },
      settings: {
        event_subscriptions: { request_url: url, bot_events: ["app_mention", "message.im"] },
        org_deploy_enabled: false,
        socket_mode_enabled: false,
      },
    },
    null,
    2,
  );
  return (
    <ol className="steps setup-steps mt1">
      <li>
        At <strong>api.slack.com/apps</strong> choose <F>Create New App</F> → <F>From a manifest</F>, pick your
        workspace, switch to <F>JSON</F> and paste:
        <Cmd text={manifest} label="Slack app manifest" />
      </li>
      <li>
        <F>Basic Information</F> → <F>App Credentials</F>: copy <F>Signing Secret</F> (Show) into the secret{" "}
        <S>SLACK_SIGNING_SECRET</S>, and <F>App ID</F> into this channel's settings (appId).
      </li>
      <li>
        <F>Install App</F> → <F>Install to Workspace</F> → Allow. Copy <F>Bot User OAuth Token</F> (<S>xoxb-…</S>) into
        the secret <S>SLACK_BOT_TOKEN</S>.
      </li>
      <EnableLast c={c} />
      <li>
        <F>Event Subscriptions</F>: the <F>Request URL</F> from the manifest shows <F>Verified</F> once Warden answers
        Slack's challenge (it needs the signing secret saved and the channel enabled — press <F>Retry</F> if it was too
        early). Invite the bot to a channel or DM it.
      </li>
    </ol>
  );
}

function DiscordSetup({ c, url }: { c: SetupChannel; url: string }) {
  const appId = c.settings.applicationId || "<APPLICATION_ID>";
  const cmd = [
    "read -rs DISCORD_BOT_TOKEN   # paste the bot token, then Enter",
    `curl -sS -X POST "https://discord.com/api/v10/applications/${appId}/commands" \\`,
    `  -H "Authorization: Bot \${DISCORD_BOT_TOKEN}" -H "Content-Type: application/json" \\`,
    `  -d '{"name":"ask","type":1,"description":"Ask the agent","options":[{"type":3,"name":"question","description":"Your question","required":true}]}'`,
  ].join("\n");
  return (
    <ol className="steps setup-steps mt1">
      <li>
        At <strong>discord.com/developers/applications</strong> → <F>New Application</F>. On <F>General Information</F>{" "}
        copy <F>Application ID</F> into this channel's settings (applicationId) and <F>Public Key</F> into the secret{" "}
        <S>DISCORD_PUBLIC_KEY</S>.
      </li>
      <li>
        <F>Bot</F> → <F>Reset Token</F>: copy it into the secret <S>DISCORD_BOT_TOKEN</S>. <F>Installation</F> → add the
        scope <S>applications.commands</S> and open the install link to add the app to your server.
      </li>
      <li>
        Register the <S>/ask</S> command:
        <Cmd text={cmd} label="Discord command registration" />
      </li>
      <EnableLast c={c} />
      <li>
        Back on <F>General Information</F>, paste <S>{url}</S> into <F>Interactions Endpoint URL</F> and{" "}
        <F>Save Changes</F>: Discord sends a signed PING, and saving only succeeds once Warden verified it with the
        public key.
      </li>
    </ol>
  );
}

function TwilioSetup({ url }: { url: string }) {
  return (
    <ol className="steps setup-steps mt1">
      <li>
        In the <strong>Twilio Console</strong> home, <F>Account Info</F>: copy <F>Account SID</F> into this channel's
        settings (accountSid) and <F>Auth Token</F> into the secret <S>TWILIO_AUTH_TOKEN</S> (it signs Twilio's webhooks
        and authorizes replies).
      </li>
      <li>
        SMS: <F>Phone Numbers</F> → <F>Manage</F> → <F>Active numbers</F> → your number → <F>Messaging Configuration</F>{" "}
        → <F>A message comes in</F>: <F>Webhook</F>, URL <S>{url}</S>, <F>HTTP POST</F> → <F>Save configuration</F>.
      </li>
      <li>
        WhatsApp: <F>Messaging</F> → <F>Senders</F> → <F>WhatsApp senders</F> → your sender →{" "}
        <F>Webhook URL for incoming messages</F>: <S>{url}</S> (POST). For the sandbox it's <F>Try it out</F> →{" "}
        <F>Sandbox settings</F> → <F>When a message comes in</F>.
      </li>
      <li>
        Put the number in E.164 form (<S>+15551234567</S> or <S>whatsapp:+1555…</S>) into fromNumber. The URL must be
        exactly the one above: Twilio signs the full URL it calls, so a proxy that rewrites it breaks verification.
      </li>
    </ol>
  );
}

function ResendSetup({ url }: { url: string }) {
  return (
    <ol className="steps setup-steps mt1">
      <li>
        In <strong>resend.com</strong> → <F>Domains</F>: add your domain, publish the DNS records it lists, and turn on
        receiving for it. Put the sending address (<S>{"Agent <agent@your-domain>"}</S>) into fromAddress.
      </li>
      <li>
        <F>API Keys</F> → <F>Create API Key</F> with <F>Full access</F> (sending and reading received mail); save it as
        the secret <S>RESEND_API_KEY</S>.
      </li>
      <li>
        <F>Webhooks</F> → <F>Add Webhook</F>: <F>Endpoint URL</F> <S>{url}</S>, event <S>email.received</S> → <F>Add</F>
        .
      </li>
      <li>
        Open the new webhook and copy its <F>Signing Secret</F> (<S>whsec_…</S>) into the secret{" "}
        <S>RESEND_WEBHOOK_SECRET</S>. Enable the channel before sending the first test mail.
      </li>
    </ol>
  );
}
