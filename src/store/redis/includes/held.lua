--[[
  Which node holds a page's socket: a boot's member in the node registry ('nodes', 'nodes:reaped') and
  a page's member in the held index ('held'), in lex order: node, boot, page.
]]
--- @include "includes/lex"

local function nodeMember(nodeId, bootId)
  return lexPrefix(nodeId) .. lexPrefix(bootId)
end

local function heldMember(nodeId, bootId, pageId)
  return lexPrefix(nodeId) .. lexPrefix(bootId) .. lexPrefix(pageId)
end
