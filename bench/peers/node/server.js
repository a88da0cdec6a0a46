// A peer: Node's `ws` (npm), rooms of members, every chat broadcast to the room (sender included),
// as the same envelope as ours (per-connection seq, the event encoded once per message).
// `node bench/peers/node/server.js PORT`
"use strict";
const crypto = require("crypto");
const { WebSocketServer } = require("ws");

const port = Number(process.argv[2] || 8003);
const rooms = new Map(); // room id -> Set of members
let nextId = 1;

function user(id) {
  return { id, nickname: "bench", avatar: null };
}

function tail(data) {
  return `,"timestamp":${Date.now()},"data":${JSON.stringify(data)}}`;
}

function deliver(member, kind, tailText) {
  member.seq += 1;
  member.ws.send(`{"type":"${kind}","seq":${member.seq}${tailText}`);
}

function broadcast(roomId, kind, data) {
  const members = rooms.get(roomId);
  if (!members) return;
  const text = tail(data);
  for (const member of members) deliver(member, kind, text);
}

function handle(member, text) {
  const message = JSON.parse(text);
  const data = message.data || {};
  if (message.type === "chat_message") {
    broadcast(data.room_id, "chat_message", {
      message_id: `msg_${crypto.randomBytes(8).toString("hex")}`,
      room_id: data.room_id,
      sender: user(member.id),
      content: data.content,
      created_at: new Date().toISOString(),
      client_msg_id: data.client_msg_id ?? null,
    });
  } else if (message.type === "ping") {
    deliver(member, "pong", tail({ request_seq: message.seq ?? null }));
  } else if (message.type === "join_room") {
    const roomId = data.room_id;
    if (!rooms.has(roomId)) rooms.set(roomId, new Set());
    const members = rooms.get(roomId);
    members.add(member);
    member.rooms.add(roomId);
    broadcast(roomId, "user_joined", {
      user: user(member.id), room_id: roomId, participant_count: members.size,
    });
  }
}

const server = new WebSocketServer({ port, host: "127.0.0.1", perMessageDeflate: false, maxPayload: 64 * 1024 });
server.on("connection", (ws) => {
  const member = { id: `usr_${(nextId++).toString(16).padStart(16, "0")}`, ws, seq: 0, rooms: new Set() };
  deliver(member, "connected", tail({ user_id: member.id }));
  ws.on("message", (raw, isBinary) => {
    if (isBinary) return;
    try { handle(member, raw.toString()); } catch (err) { /* bad input is dropped */ }
  });
  ws.on("close", () => {
    for (const roomId of member.rooms) {
      const members = rooms.get(roomId);
      if (members) { members.delete(member); if (members.size === 0) rooms.delete(roomId); }
    }
  });
});
server.on("listening", () => console.log(`listening on ${port}`));
